// What the audit log and "Consulté par" show for an audit row: a French phrase for its action and
// a word for the kind of thing it concerns, from the dictionary. Codes (`patient.read`) are for
// the database and filters; an action added without a label still never reaches the screen raw.
import type { AuditMessages } from './i18n/audit.ts';

export function auditActionLabel(t: AuditMessages, action: string): string {
	return Object.hasOwn(t.audit.actions, action) ? t.audit.actions[action] : t.audit.unknownAction;
}

export function auditTargetLabel(t: AuditMessages, targetType: string): string {
	return Object.hasOwn(t.audit.targets, targetType) ? t.audit.targets[targetType] : t.audit.unknownTarget;
}
