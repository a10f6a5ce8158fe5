// Billing export runs. A run records the lines it exports and so locks them: the unique index
// billing_line_once lets a package's code be billed by one active line only, whichever runs race;
// running again exports nothing twice. A correction is a new run that references the old one,
// voids its lines and bills those packages again as they stand now (a tariff or a funding fixed).
//
// The NIR is decrypted here only, when the CSV is produced for the administrative coordination,
// and each download is audited.
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { BillingCode, PackageKind } from '../db/schema.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { decryptNir, validateNir, type NirKeys } from '../patients/nir.ts';
import { consistency, packageEnd, pendingPackages, type Package, type PackageFilter } from './packages.ts';
import { listTariffs } from './tariffs.ts';
import { csvDocument } from '../csv.ts';
import { parisDay } from '../../i18n/formatters.ts';

export type RunResult =
	| { ok: true; runId: string; number: number; lineCount: number; totalCents: number; skipped: Package[] }
	| { ok: false; reason: 'nothing' | 'inconsistent'; skipped: Package[] };

/** Serialises the runs of one network: numbering, and one consistent view of what is still unbilled. */
async function lockNetwork(trx: Db, networkId: string) {
	await sql`select pg_advisory_xact_lock(hashtextextended(${`billing:${networkId}`}, 0))`.execute(trx);
}

async function nextNumber(trx: Db, networkId: string): Promise<number> {
	const row = await trx.selectFrom('billing_run').select(sql<number>`coalesce(max(number), 0) + 1`.as('n')).where('network_id', '=', networkId).executeTakeFirstOrThrow();
	return Number(row.n);
}

/** A package whose NIR does not decrypt to a valid number is not billed (it is listed with the others). */
async function checkNirs(trx: Db, packages: Package[], keys: NirKeys): Promise<Package[]> {
	const ids = [...new Set(packages.map((p) => p.patientId))];
	if (ids.length === 0) return [];
	const rows = await trx.selectFrom('patient_nir').select(['patient_id', 'ciphertext', 'key_id']).where('patient_id', 'in', ids).execute();
	const bad = new Set<string>();
	for (const r of rows) {
		try {
			if (!r.ciphertext || !r.key_id || !validateNir(decryptNir({ ciphertext: r.ciphertext, keyId: r.key_id }, keys)).ok) bad.add(r.patient_id);
		} catch {
			bad.add(r.patient_id);
		}
	}
	for (const p of packages) if (bad.has(p.patientId)) p.failures.push({ kind: 'nir_missing' });
	return packages.filter((p) => !bad.has(p.patientId));
}

async function insertRun(
	trx: Db,
	ctx: AuditContext & { actorId: string },
	filter: PackageFilter,
	ready: Package[],
	correctsRunId: string | null
): Promise<{ runId: string; number: number; lineCount: number; totalCents: number } | 'nothing' | 'inconsistent'> {
	if (ready.length === 0) return 'nothing';
	const lines = ready.flatMap((p) => p.lines.map((l) => ({ ...l, p })));
	const check = consistency(lines);
	if (!check.c1 || !check.b1) return 'inconsistent';
	const number = await nextNumber(trx, filter.networkId);
	const run = await trx
		.insertInto('billing_run')
		.values({
			network_id: filter.networkId,
			number,
			period_from: filter.from,
			period_to: filter.to,
			microstructure_ids: filter.microstructureIds,
			corrects_run_id: correctsRunId,
			created_by: ctx.actorId
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	let inserted: { amount_cents: number; code: BillingCode }[] = [];
	// Bounded batches: a region's year is tens of thousands of lines.
	for (let i = 0; i < lines.length; i += 2000) {
		const batch = lines.slice(i, i + 2000);
		const rows = await sql<{ amount_cents: number; code: BillingCode }>`
			insert into billing_line (run_id, patient_event_id, patient_id, microstructure_id, programme, package_kind, package_start, code, amount_cents)
			values ${sql.join(batch.map((l) => sql`(${run.id}, ${l.p.eventId}, ${l.p.patientId}, ${l.p.microstructureId}, ${l.p.programme}, ${l.p.kind}, ${l.p.start}, ${l.code}, ${l.amountCents})`))}
			on conflict (patient_event_id, code) where voided_by_run is null do nothing
			returning amount_cents, code
		`.execute(trx);
		inserted = inserted.concat(rows.rows);
	}
	// Another run billed some of these between our read and our insert (the advisory lock makes it
	// rare: only a run of another network can share a patient event, through a transfer): the rules
	// must hold on what this run really holds, or nothing is recorded.
	const held = consistency(inserted);
	if (inserted.length === 0) return 'nothing';
	if (!held.c1 || !held.b1) return 'inconsistent';
	const totalCents = inserted.reduce((sum, l) => sum + l.amount_cents, 0);
	await trx.updateTable('billing_run').set({ line_count: inserted.length, total_cents: totalCents }).where('id', '=', run.id).execute();
	return { runId: run.id, number, lineCount: inserted.length, totalCents };
}

class Rollback extends Error {
	constructor(readonly reason: 'nothing' | 'inconsistent') {
		super(reason);
	}
}

/** Exports the period's packages that pass every check; the others stay unbilled and are returned. */
export async function runBillingExport(db: Db, ctx: AuditContext & { actorId: string }, filter: PackageFilter, keys: NirKeys): Promise<RunResult> {
	let skipped: Package[] = [];
	try {
		return await db.transaction().execute(async (trx) => {
			await lockNetwork(trx, filter.networkId);
			const tariffs = await listTariffs(trx, filter.networkId);
			const packages = await pendingPackages(trx, filter, tariffs);
			const candidates = packages.filter((p) => p.failures.length === 0);
			const ready = await checkNirs(trx, candidates, keys);
			skipped = packages.filter((p) => p.failures.length > 0);
			const result = await insertRun(trx, ctx, filter, ready, null);
			if (typeof result === 'string') throw new Rollback(result);
			await audit(trx, ctx, {
				action: 'billing.run',
				targetType: 'billing_run',
				targetId: result.runId,
				networkId: filter.networkId,
				details: { number: result.number, from: filter.from, to: filter.to, microstructures: filter.microstructureIds.length, lines: result.lineCount, skipped: skipped.length }
			});
			return { ok: true as const, ...result, skipped };
		});
	} catch (e) {
		if (e instanceof Rollback) return { ok: false, reason: e.reason, skipped };
		throw e;
	}
}

/**
 * Corrects a run: a new run referencing it voids its active lines and bills those packages again
 * as they stand now. Packages that no longer pass a check are left unbilled (listed).
 */
export async function correctRun(db: Db, ctx: AuditContext & { actorId: string }, networkId: string, runId: string, keys: NirKeys): Promise<RunResult> {
	let skipped: Package[] = [];
	try {
		return await db.transaction().execute(async (trx) => {
			await lockNetwork(trx, networkId);
			const old = await trx.selectFrom('billing_run').selectAll().where('id', '=', runId).where('network_id', '=', networkId).executeTakeFirst();
			if (!old) throw new Rollback('nothing');
			const events = await trx
				.selectFrom('billing_line')
				.select('patient_event_id')
				.distinct()
				.where('run_id', '=', runId)
				.where('voided_by_run', 'is', null)
				.execute();
			if (events.length === 0) throw new Rollback('nothing');
			const filter: PackageFilter = { networkId, from: old.period_from, to: old.period_to, microstructureIds: old.microstructure_ids };
			const number = await nextNumber(trx, networkId);
			const correction = await trx
				.insertInto('billing_run')
				.values({ network_id: networkId, number, period_from: old.period_from, period_to: old.period_to, microstructure_ids: old.microstructure_ids, corrects_run_id: runId, created_by: ctx.actorId })
				.returning('id')
				.executeTakeFirstOrThrow();
			await trx.updateTable('billing_line').set({ voided_by_run: correction.id }).where('run_id', '=', runId).where('voided_by_run', 'is', null).execute();
			const eventIds = new Set(events.map((e) => e.patient_event_id));
			const tariffs = await listTariffs(trx, networkId);
			const packages = (await pendingPackages(trx, filter, tariffs)).filter((p) => eventIds.has(p.eventId));
			const ready = await checkNirs(trx, packages.filter((p) => p.failures.length === 0), keys);
			skipped = packages.filter((p) => p.failures.length > 0);
			const lines = ready.flatMap((p) => p.lines.map((l) => ({ ...l, p })));
			const check = consistency(lines);
			if (!check.c1 || !check.b1) throw new Rollback('inconsistent');
			let totalCents = 0;
			for (let i = 0; i < lines.length; i += 2000) {
				const batch = lines.slice(i, i + 2000);
				await trx
					.insertInto('billing_line')
					.values(batch.map((l) => ({ run_id: correction.id, patient_event_id: l.p.eventId, patient_id: l.p.patientId, microstructure_id: l.p.microstructureId, programme: l.p.programme, package_kind: l.p.kind, package_start: l.p.start, code: l.code, amount_cents: l.amountCents })))
					.execute();
				totalCents += batch.reduce((sum, l) => sum + l.amountCents, 0);
			}
			await trx.updateTable('billing_run').set({ line_count: lines.length, total_cents: totalCents }).where('id', '=', correction.id).execute();
			await audit(trx, ctx, {
				action: 'billing.corrected',
				targetType: 'billing_run',
				targetId: correction.id,
				networkId,
				details: { number, corrects: old.number, lines: lines.length, skipped: skipped.length }
			});
			return { ok: true as const, runId: correction.id, number, lineCount: lines.length, totalCents, skipped };
		});
	} catch (e) {
		if (e instanceof Rollback) return { ok: false, reason: e.reason, skipped };
		throw e;
	}
}

export interface RunSummary {
	id: string;
	number: number;
	periodFrom: string;
	periodTo: string;
	createdAt: Date;
	createdBy: string;
	lineCount: number;
	totalCents: number;
	correctsNumber: number | null;
	correctedByNumber: number | null;
	activeLines: number;
}

export async function listRuns(db: Db, networkId: string, limit = 50): Promise<RunSummary[]> {
	const rows = await db
		.selectFrom('billing_run as r')
		.innerJoin('app_user as u', 'u.id', 'r.created_by')
		.leftJoin('billing_run as c', 'c.id', 'r.corrects_run_id')
		.select([
			'r.id',
			'r.number',
			'r.period_from',
			'r.period_to',
			'r.created_at',
			'r.line_count',
			'r.total_cents',
			'c.number as corrects_number',
			sql<string>`u.first_name || ' ' || u.last_name`.as('created_by'),
			sql<number | null>`(select min(n.number) from billing_run n where n.corrects_run_id = r.id)`.as('corrected_by_number'),
			sql<number>`(select count(*)::int from billing_line l where l.run_id = r.id and l.voided_by_run is null)`.as('active_lines')
		])
		.where('r.network_id', '=', networkId)
		.orderBy('r.number', 'desc')
		.limit(limit)
		.execute();
	return rows.map((r) => ({
		id: r.id,
		number: r.number,
		periodFrom: r.period_from,
		periodTo: r.period_to,
		createdAt: r.created_at,
		createdBy: r.created_by,
		lineCount: r.line_count,
		totalCents: Number(r.total_cents),
		correctsNumber: r.corrects_number,
		correctedByNumber: r.corrected_by_number,
		activeLines: r.active_lines
	}));
}

/**
 * The columns of a run's CSV (UTF-8 with a byte-order mark, ';' separated, one line per package
 * and code; README "Billing export" documents each column):
 * run number, run date, microstructure, patient code, last name, first name, birth date, sex, NIR,
 * programme, package kind, package start, package end, code, amount in euros, line status.
 */
export const RUN_CSV_HEADER = [
	'export',
	'date_export',
	'microstructure',
	'code_patient',
	'nom',
	'prenom',
	'date_naissance',
	'sexe',
	'nir',
	'programme',
	'forfait',
	'debut_forfait',
	'fin_forfait',
	'code_facturation',
	'montant_euros',
	'statut_ligne'
] as const;

const PACKAGE_LABELS: Record<PackageKind, string> = { include: 'inclusion', reinclude: 're-inclusion', renew: 'renouvellement' };

/** The run's CSV with the NIR in clear; null when the run is not the network's. Audited. */
export async function runCsv(db: Db, ctx: AuditContext, networkId: string, runId: string, keys: NirKeys): Promise<{ filename: string; body: string } | null> {
	const run = await db.selectFrom('billing_run').select(['id', 'number', 'created_at']).where('id', '=', runId).where('network_id', '=', networkId).executeTakeFirst();
	if (!run) return null;
	const lines = await db
		.selectFrom('billing_line as l')
		.innerJoin('patient as p', 'p.id', 'l.patient_id')
		.innerJoin('microstructure as m', 'm.id', 'l.microstructure_id')
		.leftJoin('patient_nir as n', 'n.patient_id', 'l.patient_id')
		.select([
			'm.name as ms',
			'p.code',
			'p.last_name',
			'p.first_name',
			'p.birth_date',
			'p.sex',
			'n.ciphertext',
			'n.key_id',
			'l.programme',
			'l.package_kind',
			'l.package_start',
			'l.code as billing_code',
			'l.amount_cents',
			'l.voided_by_run'
		])
		.where('l.run_id', '=', runId)
		.orderBy('m.name')
		.orderBy('p.code')
		.orderBy('l.package_start')
		.orderBy('l.code')
		.execute();
	const day = parisDay(run.created_at);
	const rows: string[][] = [[...RUN_CSV_HEADER]];
	for (const l of lines) {
		let nir = '';
		if (l.ciphertext && l.key_id) {
			try {
				nir = decryptNir({ ciphertext: l.ciphertext, keyId: l.key_id }, keys);
			} catch {
				nir = '';
			}
		}
		rows.push([
			String(run.number),
			day,
			l.ms,
			l.code,
			l.last_name ?? '',
			l.first_name ?? '',
			l.birth_date ?? '',
			l.sex ?? '',
			nir,
			l.programme,
			PACKAGE_LABELS[l.package_kind],
			l.package_start,
			packageEnd(l.package_start),
			l.billing_code,
			(l.amount_cents / 100).toFixed(2).replace('.', ','),
			l.voided_by_run ? 'annulee' : 'facturee'
		]);
	}
	await audit(db, ctx, { action: 'billing.downloaded', targetType: 'billing_run', targetId: run.id, networkId, details: { number: run.number, lines: lines.length } });
	return { filename: `facturation-${run.number}-${day}.csv`, body: csvDocument([], rows[0], rows.slice(1)) };
}
