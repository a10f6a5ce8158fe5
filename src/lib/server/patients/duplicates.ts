// The same person, looked for before a patient is created: in the microstructure and in the rest of
// its network, by birth date and name (folded by the database's `patient_name_key`: accents, case,
// hyphens, apostrophes and spaces ignored, first and last names either way round) or by NIR (its
// keyed blind index, nir.ts). What the user may learn of a match depends on where it is: a record of
// their own microstructure is shown (they may read it), a record elsewhere in the network only
// exists — no name beyond what they typed, no code, no id.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { PatientState } from '../db/schema.ts';
import type { MicrostructureRef } from '../access/policy.ts';
import { nirIndex, nirIndexes, type NirKeys } from './nir.ts';

export interface IdentityProbe {
	lastName: string;
	firstName: string;
	birthDate: string;
	/** A validated, normalised NIR, when one was typed. */
	nir?: string | null;
}

/** A matching record of the user's own microstructure: they may open it. */
export interface LocalMatch {
	id: string;
	code: string;
	lastName: string;
	firstName: string;
	birthDate: string;
	state: PatientState;
	byNir: boolean;
}

export interface DuplicateReport {
	here: LocalMatch[];
	/** Records in other microstructures of the network: how many, and whether one has the same NIR. */
	elsewhere: { count: number; byNir: boolean };
	/** A NIR match anywhere: not a namesake, whatever the names say. */
	byNir: boolean;
	/** Identifies the set of records matched, so that "C'est un homonyme" answers exactly this set. */
	fingerprint: string;
}

export interface MatchRow {
	id: string;
	microstructure_id: string;
	code: string;
	last_name: string | null;
	first_name: string | null;
	birth_date: string | null;
	state: PatientState;
	by_name: boolean;
	by_nir: boolean;
}

/** The name keys of a probe, computed by the database (the same function as the stored keys). */
async function probeKeys(db: Db, probe: IdentityProbe): Promise<{ last: string; first: string }> {
	const { rows } = await sql<{ last: string | null; first: string | null }>`select patient_name_key(${probe.lastName}) as last, patient_name_key(${probe.firstName}) as first`.execute(db);
	return { last: rows[0]?.last ?? '', first: rows[0]?.first ?? '' };
}

/**
 * Serialises inclusions of the same person in a network until the end of the caller's transaction:
 * one transaction-scoped advisory lock per identity key (network, the two name keys in order, birth
 * date; and network, NIR), taken in a fixed order so that two inclusions never wait on each other
 * crosswise. The second of two concurrent inclusions then sees the first one's row.
 */
export async function lockIdentity(trx: Db, networkId: string, probe: IdentityProbe, keys: NirKeys | null): Promise<void> {
	const { last, first } = await probeKeys(trx, probe);
	const names = [last, first].sort();
	const lockKeys = [`patient-identity|${networkId}|${names[0]}|${names[1]}|${probe.birthDate}`];
	if (probe.nir && keys) lockKeys.push(`patient-nir|${networkId}|${nirIndex(probe.nir, keys.current).toString('hex')}`);
	for (const key of lockKeys.sort()) await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
}

/** Every record of the network that matches the probe, anonymised ones excepted (they have no name). */
export async function matchingRecords(db: Db, networkId: string, probe: IdentityProbe, keys: NirKeys | null): Promise<MatchRow[]> {
	const { last, first } = await probeKeys(db, probe);
	const byName = last !== '' && first !== '';
	const indexes = probe.nir && keys ? nirIndexes(probe.nir, keys) : [];
	if (!byName && indexes.length === 0) return [];
	const nameMatch = byName
		? sql<boolean>`(p.birth_date = ${probe.birthDate}::date and ((p.last_name_key = ${last} and p.first_name_key = ${first}) or (p.last_name_key = ${first} and p.first_name_key = ${last})))`
		: sql<boolean>`false`;
	const nirMatch = indexes.length ? sql<boolean>`coalesce(n.nir_index in (${sql.join(indexes)}), false)` : sql<boolean>`false`;
	return db
		.selectFrom('patient as p')
		.innerJoin('microstructure as ms', 'ms.id', 'p.microstructure_id')
		.leftJoin('patient_nir as n', 'n.patient_id', 'p.id')
		.select(['p.id', 'p.microstructure_id', 'p.code', 'p.last_name', 'p.first_name', 'p.birth_date', 'p.state', nameMatch.as('by_name'), nirMatch.as('by_nir')])
		.where('ms.network_id', '=', networkId)
		.where('p.anonymised_at', 'is', null)
		.where(sql<boolean>`(${nameMatch} or ${nirMatch})`)
		.orderBy('p.created_at')
		.orderBy('p.id')
		.execute();
}

/** What the user may be shown of the matches, seen from microstructure `ms`. */
export function reportFor(ms: MicrostructureRef, rows: MatchRow[]): DuplicateReport | null {
	if (rows.length === 0) return null;
	const here = rows
		.filter((r) => r.microstructure_id === ms.id)
		.map((r) => ({ id: r.id, code: r.code, lastName: r.last_name ?? '', firstName: r.first_name ?? '', birthDate: r.birth_date ?? '', state: r.state, byNir: r.by_nir }));
	const others = rows.filter((r) => r.microstructure_id !== ms.id);
	return {
		here,
		elsewhere: { count: others.length, byNir: others.some((r) => r.by_nir) },
		byNir: rows.some((r) => r.by_nir),
		fingerprint: fingerprint(rows.map((r) => r.id))
	};
}

/**
 * A short digest of the matched records' ids: sent back with "C'est un homonyme", it says which set
 * the user looked at, without naming any record (a digest of random UUIDs reveals none of them).
 */
export function fingerprint(ids: string[]): string {
	return createHash('sha256').update([...ids].sort().join(',')).digest('base64url').slice(0, 22);
}

/** Looks for the same person (outside any lock: a preview, or the first check of a form). */
export async function findDuplicates(db: Db, ms: MicrostructureRef, probe: IdentityProbe, keys: NirKeys | null): Promise<DuplicateReport | null> {
	return reportFor(ms, await matchingRecords(db, ms.networkId, probe, keys));
}
