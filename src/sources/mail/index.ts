/** The mail source's factory: an IMAP mailbox or a watched Maildir, as the config says. */
import type { MailSourceConfig } from "../../../config/schema.js";
import type { Logger } from "../../log/logger.js";
import type { DkimVerifier } from "./dkim.js";
import { createImapMailSource, type ImapMailSource } from "./imap.js";
import { createMaildirMailSource, type MaildirMailSource } from "./maildir.js";

export type MailSourceDeps = {
  log: Logger;
  /** The resolved `imap.password` (required for an IMAP source). */
  imapPassword?: string | undefined;
  verifyDkim?: DkimVerifier | undefined;
};

export function createMailSource(config: MailSourceConfig, deps: MailSourceDeps): ImapMailSource | MaildirMailSource {
  if (config.imap) {
    if (deps.imapPassword === undefined) throw new Error(`mail source ${config.id}: the IMAP password was not resolved`);
    return createImapMailSource(config, { password: deps.imapPassword, log: deps.log, verifyDkim: deps.verifyDkim });
  }
  return createMaildirMailSource(config, { log: deps.log, verifyDkim: deps.verifyDkim });
}

/** One source per configured mailbox or Maildir; `secret(key)` gives the resolved IMAP passwords ("mail:<id>"). */
export function mailSources(configs: readonly MailSourceConfig[], secret: (key: string) => string | undefined, log: Logger): (ImapMailSource | MaildirMailSource)[] {
  return configs.map((c) => createMailSource(c, { log: log.child({ source: c.id }), imapPassword: secret(`mail:${c.id}`) }));
}
