// RCP templates (trames): a network default that each microstructure may override, never mandatory
// (domain §3: "une trame commune mais non contraignante"). Sessions copy the template they were
// planned with, so a later change does not rewrite past minutes.
import type { Db } from '../db/index.ts';
import type { MicrostructureRef } from '../access/policy.ts';
import type { RcpTemplateContent } from '../db/schema.ts';
import { audit, type AuditContext } from '../audit/audit.ts';

/** What the field reports recommend when nobody has written a template yet. */
export const DEFAULT_TEMPLATE: RcpTemplateContent = {
	name: 'Trame recommandée',
	targetMinutes: 90,
	minFrequency: 'mensuelle',
	sections: [
		{ kind: 'cas', title: 'Discussion de cas' },
		{ kind: 'organisation_pec', title: 'Organisation des prises en charge' },
		{ kind: 'organisation_ms', title: 'Organisation de la microstructure' }
	],
	quorumProfessions: ['medecin_generaliste', 'psychologue', 'travailleur_social'],
	optionalInvitees: 'Coordination médicale, psychiatre, infirmier·e Asalée',
	patientMayAttend: false,
	minutesPerCase: 10
};

type Row = {
	name: string;
	target_minutes: number;
	min_frequency: RcpTemplateContent['minFrequency'];
	sections: RcpTemplateContent['sections'];
	quorum_professions: RcpTemplateContent['quorumProfessions'];
	optional_invitees: string;
	patient_may_attend: boolean;
	minutes_per_case: number;
};

const COLUMNS = ['name', 'target_minutes', 'min_frequency', 'sections', 'quorum_professions', 'optional_invitees', 'patient_may_attend', 'minutes_per_case'] as const;

function fromRow(r: Row): RcpTemplateContent {
	return {
		name: r.name,
		targetMinutes: r.target_minutes,
		minFrequency: r.min_frequency,
		sections: r.sections,
		quorumProfessions: r.quorum_professions,
		optionalInvitees: r.optional_invitees,
		patientMayAttend: r.patient_may_attend,
		minutesPerCase: r.minutes_per_case
	};
}

function toRow(t: RcpTemplateContent) {
	return {
		name: t.name,
		target_minutes: t.targetMinutes,
		min_frequency: t.minFrequency,
		sections: JSON.stringify(t.sections),
		quorum_professions: t.quorumProfessions,
		optional_invitees: t.optionalInvitees,
		patient_may_attend: t.patientMayAttend,
		minutes_per_case: t.minutesPerCase
	};
}

export async function networkTemplate(db: Db, networkId: string): Promise<RcpTemplateContent | null> {
	const row = await db.selectFrom('rcp_template').select(COLUMNS).where('network_id', '=', networkId).executeTakeFirst();
	return row ? fromRow(row) : null;
}

export async function microstructureTemplate(db: Db, msId: string): Promise<RcpTemplateContent | null> {
	const row = await db.selectFrom('rcp_template').select(COLUMNS).where('microstructure_id', '=', msId).executeTakeFirst();
	return row ? fromRow(row) : null;
}

/** The template a microstructure's sessions use, and where it comes from. */
export async function effectiveTemplate(db: Db, ms: MicrostructureRef): Promise<{ template: RcpTemplateContent; source: 'microstructure' | 'network' | 'default' }> {
	const own = await microstructureTemplate(db, ms.id);
	if (own) return { template: own, source: 'microstructure' };
	const network = await networkTemplate(db, ms.networkId);
	if (network) return { template: network, source: 'network' };
	return { template: DEFAULT_TEMPLATE, source: 'default' };
}

export async function saveTemplate(
	db: Db,
	ctx: AuditContext & { actorId: string },
	scope: { networkId: string } | { microstructure: MicrostructureRef },
	template: RcpTemplateContent
): Promise<void> {
	const values = { ...toRow(template), updated_by: ctx.actorId, updated_at: new Date() };
	if ('networkId' in scope) {
		await db
			.insertInto('rcp_template')
			.values({ ...values, network_id: scope.networkId })
			.onConflict((oc) => oc.column('network_id').where('network_id', 'is not', null).doUpdateSet(values))
			.execute();
	} else {
		await db
			.insertInto('rcp_template')
			.values({ ...values, microstructure_id: scope.microstructure.id })
			.onConflict((oc) => oc.column('microstructure_id').where('microstructure_id', 'is not', null).doUpdateSet(values))
			.execute();
	}
	const where = 'networkId' in scope ? { microstructureId: null, networkId: scope.networkId } : { microstructureId: scope.microstructure.id, networkId: scope.microstructure.networkId };
	await audit(db, ctx, { action: 'rcp.template_saved', targetType: 'rcp_template', ...where, details: { name: template.name } });
}

/** Back to the network's template. */
export async function removeMicrostructureTemplate(db: Db, ctx: AuditContext & { actorId: string }, ms: MicrostructureRef): Promise<void> {
	await db.deleteFrom('rcp_template').where('microstructure_id', '=', ms.id).execute();
	await audit(db, ctx, { action: 'rcp.template_reset', targetType: 'rcp_template', microstructureId: ms.id, networkId: ms.networkId });
}
