// The package ships no types; it exports crypt(3)'s DES as its one function.
declare module 'unix-crypt-td-js' {
  const unixCryptTD: (password: number[], salt: string) => string;
  export default unixCryptTD;
}
