// A realistic demo: two networks, six microstructures, ~25 professionals with French names, each
// coordinator working across the three microstructures of a network; ~200 patients whose care
// teams follow their orientation, most with a written PPS; past RCPs with their minutes and the
// PPS versions they validated; and an RCP in progress at the Cabinet des Tanneurs, so that a
// newcomer sees the product alive at the first sign-in. Used on the first start of an empty
// embedded database, by `npm run seed`, and by the end-to-end tests.
import * as Y from 'yjs';
import { inTransaction, type Db } from '../db/index.ts';
import type { MicrostructureRole, NetworkRole, Profession, Programme } from '../db/schema.ts';
import { createUser } from '../org/users.ts';
import { createNetwork } from '../org/networks.ts';
import { createMicrostructure } from '../org/microstructures.ts';
import { addMembership } from '../org/memberships.ts';
import { addDays, parisToday } from '../patients/lifecycle.ts';
import { validateVersion } from '../pps/pps.ts';
import { appendUpdate } from '../realtime/yjs-store.ts';
import { seedDemoPatients } from './patients.ts';
import { DemoPlans, type DemoPatient, type Role } from './pps.ts';
import { LIVE_MICROSTRUCTURE, seedDemoRcp, seedLiveRcp, type DemoMicrostructure } from './rcp.ts';
import { seedDemoBooking } from './booking.ts';
import { seedDemoMessaging } from './messaging.ts';
import { seedDemoAlerts } from './alerts.ts';
import { parisInstant } from '../rcp/schedule.ts';

export const DEMO_PASSWORD = 'Demo-Microstructures-2026';
export const DEMO_DOMAIN = 'demo.microstructures.fr';

interface DemoPerson {
	login: string;
	first: string;
	last: string;
	profession: Profession;
	rpps?: string;
	platformAdmin?: boolean;
	/** microstructure key → role */
	in?: Record<string, MicrostructureRole>;
	/** network key → roles */
	networks?: Record<string, NetworkRole[]>;
	/** What signing in as this person shows, in French (printed with the demo logins). */
	shows: string;
}

const NETWORKS = {
	est: { name: 'Réseau Microstructures Bas-Rhin', territory: 'Bas-Rhin (67)' },
	ouest: { name: 'Dispositif Microstructures Loire-Atlantique', territory: 'Loire-Atlantique (44)' }
};

const MICROSTRUCTURES: Record<
	string,
	{ network: keyof typeof NETWORKS; name: string; programmes: Programme[]; kind: 'cabinet' | 'msp' | 'centre_de_sante'; city: string; address: string; postalCode: string; rooms: string[] }
> = {
	tanneurs: { network: 'est', name: 'Cabinet des Tanneurs', programmes: ['MSMA'], kind: 'cabinet', city: 'Strasbourg', address: '12 rue des Tanneurs', postalCode: '67000', rooms: ['Bureau 2', 'Salle de réunion'] },
	neuhof: { network: 'est', name: 'MSP du Neuhof', programmes: ['MSMA', 'MSPC'], kind: 'msp', city: 'Strasbourg', address: '4 place de Hautefort', postalCode: '67100', rooms: ['Bureau partagé', 'Salle Schweitzer'] },
	haguenau: { network: 'est', name: 'Centre de santé de Haguenau', programmes: ['MSMA'], kind: 'centre_de_sante', city: 'Haguenau', address: '27 Grand-Rue', postalCode: '67500', rooms: ['Cabinet 3'] },
	ilenantes: { network: 'ouest', name: "MSP de l'Île de Nantes", programmes: ['MSPC', 'MSMA'], kind: 'msp', city: 'Nantes', address: '8 boulevard de la Prairie-au-Duc', postalCode: '44200', rooms: ['Bureau 1', 'Salle Loire'] },
	herblain: { network: 'ouest', name: 'Cabinet médical de Saint-Herblain', programmes: ['MSMA'], kind: 'cabinet', city: 'Saint-Herblain', address: '3 rue de la Solidarité', postalCode: '44800', rooms: ['Bureau du fond'] },
	reze: { network: 'ouest', name: 'MSP de Rezé', programmes: ['MSPC'], kind: 'msp', city: 'Rezé', address: '15 rue Jean-Jaurès', postalCode: '44400', rooms: ['Salle polyvalente'] }
};

export const DEMO_PEOPLE: DemoPerson[] = [
	// Network Bas-Rhin
	{ login: 'ines.haddad', first: 'Inès', last: 'Haddad', profession: 'medecin_generaliste', rpps: '10101234567', in: { tanneurs: 'soignant' }, shows: 'médecin généraliste — Cabinet des Tanneurs : RCP en cours (elle l’anime), PPS, « À faire »' },
	{ login: 'paul.schmitt', first: 'Paul', last: 'Schmitt', profession: 'medecin_generaliste', in: { tanneurs: 'soignant' }, shows: 'médecin généraliste — Cabinet des Tanneurs, présent à la RCP en cours' },
	{ login: 'claire.muller', first: 'Claire', last: 'Muller', profession: 'medecin_generaliste', in: { neuhof: 'soignant' }, shows: 'médecin généraliste — MSP du Neuhof (MSMA et post-Covid)' },
	{ login: 'thomas.roth', first: 'Thomas', last: 'Roth', profession: 'medecin_generaliste', in: { neuhof: 'soignant' }, shows: 'médecin généraliste — MSP du Neuhof' },
	{ login: 'yasmine.belkacem', first: 'Yasmine', last: 'Belkacem', profession: 'medecin_generaliste', in: { neuhof: 'soignant' }, shows: 'médecin généraliste — MSP du Neuhof' },
	{ login: 'francois.hoffmann', first: 'François', last: 'Hoffmann', profession: 'medecin_generaliste', in: { haguenau: 'soignant' }, shows: 'médecin généraliste — Centre de santé de Haguenau' },
	{ login: 'emilie.wagner', first: 'Émilie', last: 'Wagner', profession: 'medecin_generaliste', in: { haguenau: 'soignant' }, shows: 'médecin généraliste — Centre de santé de Haguenau' },
	{ login: 'camille.durand', first: 'Camille', last: 'Durand', profession: 'psychologue', in: { tanneurs: 'soignant', neuhof: 'soignant', haguenau: 'soignant' }, shows: 'psychologue — trois microstructures du Bas-Rhin, RCP en cours aux Tanneurs' },
	{ login: 'karim.mansouri', first: 'Karim', last: 'Mansouri', profession: 'travailleur_social', in: { tanneurs: 'soignant', neuhof: 'soignant' }, shows: 'travailleur social — Cabinet des Tanneurs et MSP du Neuhof' },
	{ login: 'lea.fischer', first: 'Léa', last: 'Fischer', profession: 'travailleur_social', in: { haguenau: 'soignant' }, shows: 'travailleuse sociale — Centre de santé de Haguenau' },
	{ login: 'nadia.benali', first: 'Nadia', last: 'Benali', profession: 'secretariat', in: { tanneurs: 'secretariat' }, shows: 'secrétariat — Cabinet des Tanneurs : planning des RCP, notes d’équipe en lecture seule, aucun patient' },
	{ login: 'marc.weber', first: 'Marc', last: 'Weber', profession: 'coordinateur_medical', networks: { est: ['coordination_medicale'] }, shows: 'coordination médicale du Bas-Rhin — double authentification à la première connexion (code dans la console)' },
	{ login: 'lucie.gauthier', first: 'Lucie', last: 'Gauthier', profession: 'coordinateur_medical', networks: { est: ['coordination_medicale'] }, shows: 'coordination médicale du Bas-Rhin — double authentification à la première connexion' },
	{ login: 'helene.roy', first: 'Hélène', last: 'Roy', profession: 'autre', networks: { est: ['admin'] }, shows: 'administration du réseau Bas-Rhin (membres, invitations), sans accès aux patients — double authentification' },
	{ login: 'sophie.klein', first: 'Sophie', last: 'Klein', profession: 'coordinateur_administratif', networks: { est: ['coordination_administrative', 'admin'] }, shows: 'coordination administrative et administration du Bas-Rhin : NIR, facturation, audit — double authentification' },
	// Network Loire-Atlantique
	{ login: 'jean.leroux', first: 'Jean', last: 'Le Roux', profession: 'medecin_generaliste', in: { ilenantes: 'soignant' }, shows: 'médecin généraliste — MSP de l’Île de Nantes' },
	{ login: 'maelle.guillou', first: 'Maëlle', last: 'Guillou', profession: 'medecin_generaliste', in: { ilenantes: 'soignant' }, shows: 'médecin généraliste — MSP de l’Île de Nantes' },
	{ login: 'antoine.bernard', first: 'Antoine', last: 'Bernard', profession: 'medecin_generaliste', in: { herblain: 'soignant' }, shows: 'médecin généraliste — Cabinet médical de Saint-Herblain' },
	{ login: 'sarah.cohen', first: 'Sarah', last: 'Cohen', profession: 'medecin_generaliste', in: { herblain: 'soignant' }, shows: 'médecin généraliste — Cabinet médical de Saint-Herblain' },
	{ login: 'luc.martin', first: 'Luc', last: 'Martin', profession: 'medecin_generaliste', in: { reze: 'soignant' }, shows: 'médecin généraliste — MSP de Rezé (post-Covid)' },
	{ login: 'aicha.diallo', first: 'Aïcha', last: 'Diallo', profession: 'medecin_generaliste', in: { reze: 'soignant' }, shows: 'médecin généraliste — MSP de Rezé (post-Covid)' },
	{ login: 'elodie.petit', first: 'Élodie', last: 'Petit', profession: 'psychologue', in: { ilenantes: 'soignant', herblain: 'soignant', reze: 'soignant' }, shows: 'psychologue — trois microstructures de Loire-Atlantique' },
	{ login: 'hugo.lambert', first: 'Hugo', last: 'Lambert', profession: 'travailleur_social', in: { ilenantes: 'soignant', herblain: 'soignant', reze: 'soignant' }, shows: 'travailleur social — trois microstructures de Loire-Atlantique' },
	{ login: 'nicolas.garnier', first: 'Nicolas', last: 'Garnier', profession: 'psychiatre', in: { ilenantes: 'soignant', reze: 'soignant' }, shows: 'psychiatre — MSP de l’Île de Nantes et MSP de Rezé' },
	{ login: 'manon.robin', first: 'Manon', last: 'Robin', profession: 'infirmier', in: { herblain: 'soignant' }, shows: 'infirmière — Cabinet médical de Saint-Herblain' },
	{ login: 'anne.legoff', first: 'Anne', last: 'Le Goff', profession: 'coordinateur_medical', networks: { ouest: ['coordination_medicale'] }, shows: 'coordination médicale de Loire-Atlantique — double authentification' },
	{ login: 'julie.morel', first: 'Julie', last: 'Morel', profession: 'coordinateur_administratif', networks: { ouest: ['coordination_administrative', 'admin'] }, shows: 'coordination administrative et administration de Loire-Atlantique — double authentification' },
	// Platform administration
	{ login: 'admin', first: 'Alex', last: 'Administrateur', profession: 'autre', platformAdmin: true, shows: 'administration de la plateforme : réseaux, réinitialisation des doubles authentifications — double authentification' }
];

export function demoEmail(login: string): string {
	return `${login}@${DEMO_DOMAIN}`;
}

export async function seedDemo(db: Db, today = parisToday()): Promise<{ networks: Record<string, string>; microstructures: Record<string, string>; users: Record<string, string> }> {
	const networks: Record<string, string> = {};
	for (const [key, n] of Object.entries(NETWORKS)) networks[key] = await createNetwork(db, n);

	const microstructures: Record<string, string> = {};
	for (const [key, m] of Object.entries(MICROSTRUCTURES)) {
		microstructures[key] = await createMicrostructure(db, {
			networkId: networks[m.network],
			name: m.name,
			programmes: m.programmes,
			practiceKind: m.kind,
			city: m.city,
			site: { name: m.name, address: m.address, postalCode: m.postalCode, city: m.city, rooms: m.rooms }
		});
	}
	// The rest in one transaction (createMicrostructure runs its own): one commit instead of
	// thousands, which PostgreSQL would each make wait for the disk.
	const seeded = await inTransaction(db, (trx) => seedRecords(trx, networks, microstructures, today));
	// Today's RCP goes through the live-session functions, each atomic on its own.
	const live = seeded.demoMs.find((m) => m.key === LIVE_MICROSTRUCTURE);
	if (live) await seedLiveRcp(db, live, seeded.slots[live.key]?.seriesId, seeded.plans, seeded.patients, today);
	// The living agenda: permanences, appointments (past, future, cancelled, missed), a waiting list.
	// Through the booking functions, each atomic on its own, at the instants things happened.
	const msRefs = Object.fromEntries(Object.entries(microstructures).map(([key, id]) => [key, { id, networkId: networks[MICROSTRUCTURES[key].network] }]));
	const now = today === parisToday() ? new Date() : parisInstant(today, '10:00');
	await seedDemoBooking(db, msRefs, seeded.users, today, now);
	// Messages between the Tanneurs' professionals, some still unread by Inès.
	await seedDemoMessaging(db, microstructures.tanneurs, seeded.users, now);
	// The coordinators' drift alerts on that data (some acknowledged, one resolved).
	await seedDemoAlerts(db, networks, microstructures, seeded.users, today, now);
	return { networks, microstructures, users: seeded.users };
}

async function seedRecords(db: Db, networks: Record<string, string>, microstructures: Record<string, string>, today: string) {
	const users: Record<string, string> = {};
	// Everyone has worked there for two years: the patients' histories (up to about 18 months) and
	// past RCPs fall within their memberships.
	const startsOn = addDays(today, -2 * 365);
	// The password hashes are computed side by side (Argon2 runs off the event loop).
	const ids = await Promise.all(
		DEMO_PEOPLE.map((p) =>
			createUser(db, { email: demoEmail(p.login), firstName: p.first, lastName: p.last, profession: p.profession, password: DEMO_PASSWORD, rpps: p.rpps ?? null, platformAdmin: p.platformAdmin })
		)
	);
	for (const [i, p] of DEMO_PEOPLE.entries()) {
		const id = ids[i];
		users[p.login] = id;
		for (const [ms, role] of Object.entries(p.in ?? {})) {
			await addMembership(db, { userId: id, microstructureId: microstructures[ms], role, createdBy: null, startsOn });
		}
		for (const [network, roles] of Object.entries(p.networks ?? {})) {
			for (const role of roles) await addMembership(db, { userId: id, networkId: networks[network], role, createdBy: null, startsOn });
		}
	}

	const demoMs: DemoMicrostructure[] = Object.entries(MICROSTRUCTURES).map(([key, m]) => ({
		key,
		id: microstructures[key],
		networkId: networks[m.network],
		network: m.network,
		name: m.name,
		gps: DEMO_PEOPLE.filter((p) => p.in?.[key] === 'soignant' && p.profession === 'medecin_generaliste').map((p) => users[p.login])
	}));
	await seedDemoPatients(
		db,
		demoMs.map((ms) => ({
			id: ms.id,
			networkId: ms.networkId,
			programmes: MICROSTRUCTURES[ms.key].programmes,
			department: MICROSTRUCTURES[ms.key].postalCode.slice(0, 2),
			gps: ms.gps
		})),
		today
	);
	const patients = await demoPatients(db, demoMs);
	const plans = new DemoPlans([...patients.values()], today);
	const coordinators = { est: users['marc.weber'], ouest: users['anne.legoff'] };
	const slots = await seedDemoRcp(db, networks, demoMs, coordinators, plans, patients, today);

	// A GP who rewrote a plan today after a consultation validated it at once (outside an RCP).
	const validatedToday = new Set<string>();
	for (const patientId of plans.changedToday()) {
		const p = patients.get(patientId)!;
		if (validatedToday.has(p.msId)) continue;
		validatedToday.add(p.msId);
		const ms = demoMs.find((m) => m.id === p.msId)!;
		await validateVersion(db, { actorId: p.gp }, ms, patientId, plans.current(patientId)!);
	}

	for (const ms of demoMs) {
		const slot = slots[ms.key];
		const rooms = MICROSTRUCTURES[ms.key].rooms;
		const doc = new Y.Doc();
		doc.getText('notes').insert(
			0,
			`Notes d'équipe — ${ms.name}\n\n` +
				`• RCP mensuelle : ${slot.label}${slot.room ? ` (${slot.room})` : ''}.\n` +
				`• Permanence de la psychologue : mardi 9h–12h (${rooms[0]}).\n` +
				'• Nouvelle orientation : prévenir la psychologue et le travailleur social le jour même.\n'
		);
		await appendUpdate(db, `ms-notes:${ms.id}`, Y.encodeStateAsUpdate(doc));
	}
	return { users, demoMs, slots, plans, patients };
}

/** The demo patients as the plans need them: dates, orientation, and the care team by role. */
async function demoPatients(db: Db, microstructures: DemoMicrostructure[]): Promise<Map<string, DemoPatient>> {
	const keyOf = new Map(microstructures.map((m) => [m.id, m.key]));
	const [rows, team] = await Promise.all([
		db
			.selectFrom('patient')
			.select(['id', 'code', 'microstructure_id', 'last_name', 'first_name', 'birth_date', 'state', 'programme', 'motif', 'orientation', 'included_on', 'first_contact_on', 'last_contact_on', 'exited_on', 'renewal_due_on', 'created_by', 'transferred_from'])
			.execute(),
		db
			.selectFrom('patient_team_member as t')
			.innerJoin('app_user as u', 'u.id', 't.user_id')
			.select(['t.patient_id', 'u.id', 'u.profession', 'u.last_name'])
			.orderBy('u.last_name')
			.execute()
	]);
	const ROLE: Partial<Record<Profession, Role>> = { medecin_generaliste: 'gp', psychologue: 'psy', travailleur_social: 'ts' };
	const patients = new Map<string, DemoPatient>();
	for (const r of rows) {
		const members = team.filter((t) => t.patient_id === r.id);
		const byRole: Record<Role, string[]> = { gp: [], psy: [], ts: [] };
		for (const m of members) {
			const role = ROLE[m.profession];
			if (role) byRole[role].push(m.id);
		}
		// The GP who included comes first: the plan's actions for "the GP" are theirs.
		const gp = byRole.gp.includes(r.created_by ?? '') ? r.created_by! : (byRole.gp[0] ?? r.created_by!);
		byRole.gp = [gp, ...byRole.gp.filter((id) => id !== gp)];
		patients.set(r.id, {
			id: r.id,
			code: r.code,
			key: `${keyOf.get(r.microstructure_id)}|${r.last_name}|${r.first_name}|${r.birth_date}${r.transferred_from ? '|transfert' : ''}`,
			msId: r.microstructure_id,
			birthDate: r.birth_date ?? '1970-01-01',
			state: r.state,
			programme: r.programme,
			motif: r.motif,
			orientation: r.orientation,
			includedOn: r.included_on,
			firstContactOn: r.first_contact_on,
			lastContactOn: r.last_contact_on,
			exitedOn: r.exited_on,
			renewalDueOn: r.renewal_due_on,
			gp,
			team: byRole
		});
	}
	return patients;
}

/** The demo accounts as `npm start` and `npm run seed` print them: who to sign in as, and what for. */
export function demoLoginsText(): string {
	const width = Math.max(...DEMO_PEOPLE.map((p) => demoEmail(p.login).length)) + 2;
	const lines = DEMO_PEOPLE.map((p) => `  ${demoEmail(p.login).padEnd(width)}${p.shows}`);
	return [`Comptes de démonstration (mot de passe commun\u00a0: ${DEMO_PASSWORD})`, ...lines].join('\n');
}
