import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { buildCdb } from '../../cdb/writer.js';
import { compileRules, relayRule } from '../../cdb/tcprules.js';
import type { Logger } from '../../log.js';
import { replaceFile } from '../../os/safe-files.js';
import { FileOutputPublisher, type Grants } from './file-output.js';

/** The rules text tcprules would be fed: one relay rule per live IPv4 grant, then the site's own rules. */
export function relayRulesText(grants: ReadonlyArray<readonly [string, number]>, baseRules: string): string {
  const ours = grants.filter(([ip]) => isIPv4(ip)).map(([ip]) => `${relayRule(ip)}\n`).join('');
  return ours + baseRules;
}

/**
 * qmail's tcp.smtp.cdb for tcpserver -x: the live grants as
 * `IP:allow,RELAYCLIENT="",RBLSMTPD=""` ahead of the base rules file, as
 * vpopmail's open-smtp does, compiled to the bytes tcprules would write.
 * tcpserver opens the cdb per connection, so the rename counts at once.
 * tcprules' address syntax has no IPv6: IPv6 grants are left out.
 */
export class TcpCdbPublisher extends FileOutputPublisher {
  readonly name = 'tcp cdb';

  constructor(path: string, private readonly baseRules: string | undefined, log: Logger) {
    super(path, log);
  }

  protected async write(grants: Grants): Promise<void> {
    // The site's rules are read each time: an admin's edit is picked up with the next change.
    const base = this.baseRules ? readFileSync(this.baseRules, 'latin1') : '';
    replaceFile(this.path, buildCdb(compileRules(relayRulesText(grants, base))));
  }
}
