// A realistic demo: two networks, six microstructures, ~25 professionals with French names, each
// coordinator working across the three microstructures of a network. Used on the first start of an
// empty embedded database, by `npm run seed`, and by the end-to-end tests.
import * as Y from 'yjs';
import type { Db } from '../db/index.ts';
import type { MicrostructureRole, NetworkRole, Profession, Programme } from '../db/schema.ts';
import { createUser } from '../org/users.ts';
import { createNetwork } from '../org/networks.ts';
import { createMicrostructure } from '../org/microstructures.ts';
import { addMembership } from '../org/memberships.ts';
import { appendUpdate } from '../realtime/yjs-store.ts';
import { seedDemoPatients } from './patients.ts';
import { seedDemoRcp } from './rcp.ts';

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
	{ login: 'ines.haddad', first: 'Inès', last: 'Haddad', profession: 'medecin_generaliste', rpps: '10101234567', in: { tanneurs: 'soignant' } },
	{ login: 'paul.schmitt', first: 'Paul', last: 'Schmitt', profession: 'medecin_generaliste', in: { tanneurs: 'soignant' } },
	{ login: 'claire.muller', first: 'Claire', last: 'Muller', profession: 'medecin_generaliste', in: { neuhof: 'soignant' } },
	{ login: 'thomas.roth', first: 'Thomas', last: 'Roth', profession: 'medecin_generaliste', in: { neuhof: 'soignant' } },
	{ login: 'yasmine.belkacem', first: 'Yasmine', last: 'Belkacem', profession: 'medecin_generaliste', in: { neuhof: 'soignant' } },
	{ login: 'francois.hoffmann', first: 'François', last: 'Hoffmann', profession: 'medecin_generaliste', in: { haguenau: 'soignant' } },
	{ login: 'emilie.wagner', first: 'Émilie', last: 'Wagner', profession: 'medecin_generaliste', in: { haguenau: 'soignant' } },
	{ login: 'camille.durand', first: 'Camille', last: 'Durand', profession: 'psychologue', in: { tanneurs: 'soignant', neuhof: 'soignant', haguenau: 'soignant' } },
	{ login: 'karim.mansouri', first: 'Karim', last: 'Mansouri', profession: 'travailleur_social', in: { tanneurs: 'soignant', neuhof: 'soignant' } },
	{ login: 'lea.fischer', first: 'Léa', last: 'Fischer', profession: 'travailleur_social', in: { haguenau: 'soignant' } },
	{ login: 'nadia.benali', first: 'Nadia', last: 'Benali', profession: 'secretariat', in: { tanneurs: 'secretariat' } },
	{ login: 'marc.weber', first: 'Marc', last: 'Weber', profession: 'coordinateur_medical', networks: { est: ['coordination_medicale'] } },
	{ login: 'lucie.gauthier', first: 'Lucie', last: 'Gauthier', profession: 'coordinateur_medical', networks: { est: ['coordination_medicale'] } },
	{ login: 'helene.roy', first: 'Hélène', last: 'Roy', profession: 'autre', networks: { est: ['admin'] } },
	{ login: 'sophie.klein', first: 'Sophie', last: 'Klein', profession: 'coordinateur_administratif', networks: { est: ['coordination_administrative', 'admin'] } },
	// Network Loire-Atlantique
	{ login: 'jean.leroux', first: 'Jean', last: 'Le Roux', profession: 'medecin_generaliste', in: { ilenantes: 'soignant' } },
	{ login: 'maelle.guillou', first: 'Maëlle', last: 'Guillou', profession: 'medecin_generaliste', in: { ilenantes: 'soignant' } },
	{ login: 'antoine.bernard', first: 'Antoine', last: 'Bernard', profession: 'medecin_generaliste', in: { herblain: 'soignant' } },
	{ login: 'sarah.cohen', first: 'Sarah', last: 'Cohen', profession: 'medecin_generaliste', in: { herblain: 'soignant' } },
	{ login: 'luc.martin', first: 'Luc', last: 'Martin', profession: 'medecin_generaliste', in: { reze: 'soignant' } },
	{ login: 'aicha.diallo', first: 'Aïcha', last: 'Diallo', profession: 'medecin_generaliste', in: { reze: 'soignant' } },
	{ login: 'elodie.petit', first: 'Élodie', last: 'Petit', profession: 'psychologue', in: { ilenantes: 'soignant', herblain: 'soignant', reze: 'soignant' } },
	{ login: 'hugo.lambert', first: 'Hugo', last: 'Lambert', profession: 'travailleur_social', in: { ilenantes: 'soignant', herblain: 'soignant', reze: 'soignant' } },
	{ login: 'nicolas.garnier', first: 'Nicolas', last: 'Garnier', profession: 'psychiatre', in: { ilenantes: 'soignant', reze: 'soignant' } },
	{ login: 'manon.robin', first: 'Manon', last: 'Robin', profession: 'infirmier', in: { herblain: 'soignant' } },
	{ login: 'anne.legoff', first: 'Anne', last: 'Le Goff', profession: 'coordinateur_medical', networks: { ouest: ['coordination_medicale'] } },
	{ login: 'julie.morel', first: 'Julie', last: 'Morel', profession: 'coordinateur_administratif', networks: { ouest: ['coordination_administrative', 'admin'] } },
	// Platform administration
	{ login: 'admin', first: 'Alex', last: 'Administrateur', profession: 'autre', platformAdmin: true }
];

export function demoEmail(login: string): string {
	return `${login}@${DEMO_DOMAIN}`;
}

export async function seedDemo(db: Db): Promise<{ networks: Record<string, string>; microstructures: Record<string, string>; users: Record<string, string> }> {
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

	const users: Record<string, string> = {};
	const startsOn = '2025-09-01';
	for (const p of DEMO_PEOPLE) {
		const id = await createUser(db, {
			email: demoEmail(p.login),
			firstName: p.first,
			lastName: p.last,
			profession: p.profession,
			password: DEMO_PASSWORD,
			rpps: p.rpps ?? null,
			platformAdmin: p.platformAdmin
		});
		users[p.login] = id;
		for (const [ms, role] of Object.entries(p.in ?? {})) {
			await addMembership(db, { userId: id, microstructureId: microstructures[ms], role, createdBy: null, startsOn });
		}
		for (const [network, roles] of Object.entries(p.networks ?? {})) {
			for (const role of roles) await addMembership(db, { userId: id, networkId: networks[network], role, createdBy: null, startsOn });
		}
	}

	for (const [key, id] of Object.entries(microstructures)) {
		const doc = new Y.Doc();
		doc.getText('notes').insert(
			0,
			`Notes d'équipe — ${MICROSTRUCTURES[key].name}\n\n` +
				'• Permanence psychologue : mardi 9h–12h, bureau partagé.\n' +
				'• Prochaine RCP : premier jeudi du mois, 12h30.\n'
		);
		await appendUpdate(db, `ms-notes:${id}`, Y.encodeStateAsUpdate(doc));
	}
	await seedDemoPatients(
		db,
		Object.entries(microstructures).map(([key, id]) => ({
			id,
			networkId: networks[MICROSTRUCTURES[key].network],
			programmes: MICROSTRUCTURES[key].programmes,
			department: MICROSTRUCTURES[key].postalCode.slice(0, 2),
			clinicians: DEMO_PEOPLE.filter((p) => p.in?.[key] === 'soignant').map((p) => users[p.login])
		}))
	);
	await seedDemoRcp(
		db,
		networks,
		Object.fromEntries(Object.entries(microstructures).map(([key, id]) => [key, { id, networkId: networks[MICROSTRUCTURES[key].network], network: MICROSTRUCTURES[key].network }])),
		users['marc.weber']
	);
	return { networks, microstructures, users };
}

export function demoLoginsText(): string {
	const lines = DEMO_PEOPLE.map((p) => {
		const role = p.platformAdmin ? 'administration' : p.profession.replace(/_/g, ' ');
		return `  ${demoEmail(p.login).padEnd(48)} ${role}`;
	});
	return [`Comptes de démonstration (mot de passe commun : ${DEMO_PASSWORD})`, ...lines].join('\n');
}
