// The audit log's labels (every action and target, in words), kept out of fr.ts/en.ts, which every
// page downloads: only the audit page and the patient record's "Consulté par" show them.
import { messages, type Locale } from './index.ts';
import type { Messages, Widen } from './fr.ts';
import { audit } from './fr/audit.ts';
import { audit as auditEn } from './en/audit.ts';

const fr = { audit };
export type AuditMessages = Widen<typeof fr>;
const en: AuditMessages = { audit: auditEn };

/** The app's dictionary (or `base`, with other sections already added) with the audit labels. */
export function withAudit<B extends Messages = Messages>(locale: Locale, base?: B): B & AuditMessages {
	return { ...(base ?? messages(locale)), ...(locale === 'en' ? en : fr) } as B & AuditMessages;
}
