// What the audit log and "Consulté par" show for an audit row: a French phrase for its action and
// a word for the kind of thing it concerns, from the dictionary. Codes (`patient.read`) are for
// the database and filters; an action added without a label still never reaches the screen raw.
import type { Messages } from './i18n/fr.ts';

export function auditActionLabel(t: Messages, action: string): string {
	return Object.hasOwn(t.audit.actions, action) ? t.audit.actions[action] : t.audit.unknownAction;
}

export function auditTargetLabel(t: Messages, targetType: string): string {
	return Object.hasOwn(t.audit.targets, targetType) ? t.audit.targets[targetType] : t.audit.unknownTarget;
}
