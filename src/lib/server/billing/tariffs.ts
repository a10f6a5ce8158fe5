// The yearly package tariffs and how a package splits into the national billing codes.
//
// A package (one patient, one inclusion year) is paid through the Article 51 codes:
//   18N27C1  the GP's part (inclusion consultation, RCPs, data entry) together with the coordination
//            shares, which the network's porteur receives with it;
//   18N27A1  the specialised centre (EMS) seconding both the psychologist and the social worker;
//   18N27B1  the centre seconding only the social worker, and then
//   18N27B2  the private psychologist.
// So a package is C1 + A1, or C1 + B1 + B2, and the national consistency rules C1 = A1 + B1 and
// B1 = B2 hold by construction; the export still checks them before anything is recorded.
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import type { BillingCode, Programme, PsychologistFunding } from '../db/schema.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { calendarDate } from '../input.ts';
import { parisToday } from '../patients/lifecycle.ts';

export interface Tariff {
	programme: Programme;
	validFrom: string;
	totalCents: number;
	psychologistCents: number;
	socialWorkerCents: number;
	adminCoordinationCents: number;
	medicalCoordinationCents: number;
	/** Not a stored tariff of the network: the national default, until the coordination sets one. */
	isDefault?: boolean;
}

// MSMA since December 2021 (domain brief, section 7). MSPC's total is national; its split is the
// network's to set: until then it follows the MSMA proportions, rounded to the euro.
export const DEFAULT_TARIFFS: Tariff[] = [
	{ programme: 'MSMA', validFrom: '2021-12-01', totalCents: 80600, psychologistCents: 35300, socialWorkerCents: 22800, adminCoordinationCents: 3800, medicalCoordinationCents: 5400, isDefault: true },
	{ programme: 'MSPC', validFrom: '2021-12-01', totalCents: 53700, psychologistCents: 23500, socialWorkerCents: 15200, adminCoordinationCents: 2500, medicalCoordinationCents: 3600, isDefault: true }
];

export function gpCents(t: Tariff): number {
	return t.totalCents - t.psychologistCents - t.socialWorkerCents - t.adminCoordinationCents - t.medicalCoordinationCents;
}

/** The codes and amounts of one package. */
export function packageLines(t: Tariff, funding: PsychologistFunding): { code: BillingCode; amountCents: number }[] {
	const c1 = { code: '18N27C1' as const, amountCents: gpCents(t) + t.adminCoordinationCents + t.medicalCoordinationCents };
	if (funding === 'ems') return [c1, { code: '18N27A1', amountCents: t.psychologistCents + t.socialWorkerCents }];
	return [c1, { code: '18N27B1', amountCents: t.socialWorkerCents }, { code: '18N27B2', amountCents: t.psychologistCents }];
}

/** The network's tariffs, newest first per programme, with the national defaults where it has none. */
export async function listTariffs(db: Db, networkId: string): Promise<Tariff[]> {
	const rows = await db
		.selectFrom('billing_tariff')
		.selectAll()
		.where('network_id', '=', networkId)
		.orderBy('programme')
		.orderBy('valid_from', 'desc')
		.execute();
	const stored: Tariff[] = rows.map((r) => ({
		programme: r.programme,
		validFrom: r.valid_from,
		totalCents: r.total_cents,
		psychologistCents: r.psychologist_cents,
		socialWorkerCents: r.social_worker_cents,
		adminCoordinationCents: r.admin_coordination_cents,
		medicalCoordinationCents: r.medical_coordination_cents
	}));
	const defaults = DEFAULT_TARIFFS.filter((d) => !stored.some((s) => s.programme === d.programme && s.validFrom <= d.validFrom));
	return [...stored, ...defaults].sort((a, b) => a.programme.localeCompare(b.programme) || b.validFrom.localeCompare(a.validFrom));
}

/** The tariff in force for a programme on a day (the package's start), or null. */
export function tariffOn(tariffs: Tariff[], programme: Programme, day: string): Tariff | null {
	return tariffs.filter((t) => t.programme === programme && t.validFrom <= day).sort((a, b) => b.validFrom.localeCompare(a.validFrom))[0] ?? null;
}

const euros = z
	.string({ error: 'errors.required' })
	.trim()
	.min(1, { error: 'errors.required' })
	.regex(/^\d{1,6}([.,]\d{1,2})?$/, { error: 'billing.errors.amount' })
	.transform((v) => Math.round(Number(v.replace(',', '.')) * 100));

/**
 * A tariff applies to every package starting from its date, so a date typed wrong reprices a whole
 * file active: not before the programmes' first tariffs (2021), not more than two years ahead.
 */
export const TARIFF_EARLIEST = '2021-01-01';
export function latestTariffDay(today = parisToday()): string {
	return `${Number(today.slice(0, 4)) + 2}-12-31`;
}

/** The tariff form: amounts in euros (comma or point), each share at least 0, shares within the total. */
export const tariffSchema = z
	.object({
		programme: z.enum(['MSMA', 'MSPC'], { error: 'errors.choice' }),
		validFrom: calendarDate().refine((d) => d >= TARIFF_EARLIEST && d <= latestTariffDay(), { error: 'billing.errors.validFrom' }),
		total: euros,
		psychologist: euros,
		socialWorker: euros,
		adminCoordination: euros,
		medicalCoordination: euros
	})
	.refine((v) => v.total > 0 && v.total <= 10_000_000, { path: ['total'], error: 'billing.errors.total' })
	.refine((v) => v.psychologist + v.socialWorker + v.adminCoordination + v.medicalCoordination <= v.total, {
		path: ['total'],
		error: 'billing.errors.shares'
	});

export type TariffInput = z.output<typeof tariffSchema>;

/** Records (or replaces) the network's tariff from a date: packages starting from then use it. */
export async function setTariff(db: Db, ctx: AuditContext, networkId: string, input: TariffInput): Promise<void> {
	await db.transaction().execute(async (trx) => {
		const values = {
			total_cents: input.total,
			psychologist_cents: input.psychologist,
			social_worker_cents: input.socialWorker,
			admin_coordination_cents: input.adminCoordination,
			medical_coordination_cents: input.medicalCoordination,
			updated_by: ctx.actorId,
			updated_at: sql<Date>`now()`
		};
		await trx
			.insertInto('billing_tariff')
			.values({ network_id: networkId, programme: input.programme, valid_from: input.validFrom, ...values })
			.onConflict((oc) => oc.columns(['network_id', 'programme', 'valid_from']).doUpdateSet(values))
			.execute();
		await audit(trx, ctx, {
			action: 'billing.tariff_updated',
			targetType: 'billing_tariff',
			targetId: `${input.programme}:${input.validFrom}`,
			networkId,
			details: { programme: input.programme, validFrom: input.validFrom, totalCents: input.total }
		});
	});
}

/** Who seconds the microstructure's psychologist, which decides the codes of its next packages. */
export async function setFunding(db: Db, ctx: AuditContext, networkId: string, microstructureId: string, funding: PsychologistFunding): Promise<boolean> {
	return db.transaction().execute(async (trx) => {
		const updated = await trx
			.updateTable('microstructure')
			.set({ psychologist_funding: funding })
			.where('id', '=', microstructureId)
			.where('network_id', '=', networkId)
			.executeTakeFirst();
		if (Number(updated.numUpdatedRows) === 0) return false;
		await audit(trx, ctx, { action: 'billing.funding_updated', targetType: 'microstructure', targetId: microstructureId, microstructureId, networkId, details: { funding } });
		return true;
	});
}
