// The demo's messaging (issue 13, point 9), at the Cabinet des Tanneurs: three patient threads
// where the GPs, the psychologist and the social worker coordinate, the team conversation with the
// secretariat, a direct conversation Inès ↔ Camille, a working group; a PDF and an image with its
// thumbnail; and messages Inès has not read yet, so the badge shows at her first sign-in.
//
// Everything goes through postMessage (the conversation opened by the policy as each sender, so a
// sender who could not write there would fail the seed), then the instants are moved to the past.
// No notification is sent: the demo's people did not just receive these messages.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import { loadActor } from '../access/policy.ts';
import { openConversation, patientThreadId, startDirect, startGroup, teamConversationId } from '../messaging/conversations.ts';
import { markRead, postMessage } from '../messaging/messages.ts';

interface Line {
	from: string;
	text: string;
	/** Minutes before `now`. */
	ago: number;
	attach?: 'pdf' | 'image';
}

interface Thread {
	/** Who must be on the patient's care team (and writes). */
	people: string[];
	lines: Line[];
	/** Messages (from the end) Inès has not read. */
	unreadForInes: number;
}

const H = 60;
const D = 24 * H;

const PATIENT_THREADS: Thread[] = [
	{
		people: ['ines.haddad', 'camille.durand', 'karim.mansouri'],
		unreadForInes: 2,
		lines: [
			{ from: 'ines.haddad', ago: 4 * D + 9 * H, text: 'Je l’ai revu ce matin : consommation d’alcool en baisse (3 verres/jour contre 8 il y a un mois), mais sommeil toujours très perturbé. Je maintiens le baclofène à la même dose.' },
			{ from: 'camille.durand', ago: 4 * D + 6 * H, text: 'Merci Inès. Entretien jeudi : il parle beaucoup de la perte de son emploi, c’est là que ça coince. Je propose de passer à un entretien par semaine le temps de la reprise.' },
			{ from: 'karim.mansouri', ago: 3 * D + 8 * H, text: 'De mon côté, le dossier de complémentaire santé solidaire est déposé. Reste la question du logement : le bailleur relance pour les impayés, je l’accompagne au rendez-vous de mardi.' },
			{ from: 'ines.haddad', ago: 3 * D + 7 * H, text: 'Très bien. Si le rendez-vous avec le bailleur se passe mal, prévenez-moi : c’est typiquement le moment où il risque de reconsommer.' },
			{ from: 'karim.mansouri', ago: 5 * H, text: 'Compte rendu du rendez-vous avec le bailleur en pièce jointe : plan d’apurement accepté, 50 € par mois. Il était soulagé en sortant.', attach: 'pdf' },
			{ from: 'camille.durand', ago: 2 * H, text: 'Bonne nouvelle. Je le vois jeudi, on pourra en reparler. Inès, on fait le point en RCP le mois prochain ?' }
		]
	},
	{
		people: ['paul.schmitt', 'camille.durand'],
		unreadForInes: 0,
		lines: [
			{ from: 'paul.schmitt', ago: 6 * D + 10 * H, text: 'Je l’ai vue mardi : anxiété importante, elle demande à reprendre le lorazépam. Je n’ai rien prescrit, je préfère qu’on en parle avant.' },
			{ from: 'camille.durand', ago: 6 * D + 7 * H, text: 'Merci Paul. En entretien elle évoque surtout des réveils nocturnes depuis le décès de sa mère. Je propose de travailler le sommeil avant toute reprise.' },
			{ from: 'paul.schmitt', ago: 5 * D + 9 * H, text: 'D’accord. On reste sur le sevrage progressif : 1 mg le soir, réévaluation dans trois semaines.' },
			{ from: 'camille.durand', ago: 50, text: 'Elle avait annulé lundi ; rappelée, nouveau rendez-vous vendredi 10 h. Elle dit dormir mieux depuis qu’elle a repris la marche le matin.' }
		]
	},
	{
		people: ['ines.haddad', 'karim.mansouri'],
		unreadForInes: 0,
		lines: [
			{ from: 'karim.mansouri', ago: 9 * D + 11 * H, text: 'L’attestation de domicile est enfin arrivée, je peux lancer la demande d’AAH. Il me faudrait le certificat médical (formulaire Cerfa 15695).' },
			{ from: 'ines.haddad', ago: 8 * D + 8 * H, text: 'Je le remplis à sa consultation de jeudi et je vous le dépose au secrétariat.' },
			{ from: 'karim.mansouri', ago: 7 * D + 9 * H, text: 'Reçu, merci. Dossier envoyé à la MDPH ce matin.' }
		]
	}
];

const TEAM: Thread = {
	people: ['ines.haddad', 'paul.schmitt', 'camille.durand', 'karim.mansouri', 'nadia.benali'],
	unreadForInes: 2,
	lines: [
		{ from: 'nadia.benali', ago: 5 * D + 10 * H, text: 'Bonjour à tous, la salle de réunion sera fermée lundi matin pour travaux. Les entretiens de Karim passent au bureau 2.' },
		{ from: 'karim.mansouri', ago: 5 * D + 9 * H, text: 'Parfait, merci Nadia.' },
		{ from: 'paul.schmitt', ago: 2 * D + 12 * H, text: 'Je serai absent du 22 au 26, Inès assure mes urgences. Les renouvellements sont prêts au secrétariat.' },
		{ from: 'nadia.benali', ago: 3 * H, text: 'Rappel : la prochaine RCP est jeudi à 12 h 30. Merci de m’envoyer les situations à inscrire à l’ordre du jour avant mercredi soir.' },
		{ from: 'camille.durand', ago: 90, text: 'Je vous ai mis le planning des permanences de décembre en image, pour ceux qui le consultent sur leur téléphone.', attach: 'image' }
	]
};

const DIRECT: Thread = {
	people: ['ines.haddad', 'camille.durand'],
	unreadForInes: 1,
	lines: [
		{ from: 'camille.durand', ago: 2 * D + 9 * H, text: 'Inès, tu aurais cinq minutes avant la RCP pour qu’on prépare la présentation de la situation de jeudi ?' },
		{ from: 'ines.haddad', ago: 2 * D + 8 * H, text: 'Oui, je passe à ton bureau à 12 h 15.' },
		{ from: 'camille.durand', ago: 40, text: 'Merci pour tout à l’heure. Je t’envoie mes notes ce soir pour qu’on ajuste le PPS ensemble.' }
	]
};

const GROUP = {
	title: 'Protocole alcool — groupe de travail',
	people: ['ines.haddad', 'paul.schmitt', 'camille.durand', 'karim.mansouri'],
	unreadForInes: 0,
	lines: [
		{ from: 'paul.schmitt', ago: 12 * D + 10 * H, text: 'Je propose qu’on harmonise nos pratiques de repérage : AUDIT-C systématique en première consultation ?' },
		{ from: 'camille.durand', ago: 12 * D + 7 * H, text: 'D’accord. Je peux préparer une fiche sur l’entretien motivationnel pour la prochaine réunion.' },
		{ from: 'ines.haddad', ago: 11 * D + 9 * H, text: 'Très bien. Karim, tu pourrais lister les structures d’hébergement qui acceptent les personnes en cours de sevrage ?' },
		{ from: 'karim.mansouri', ago: 11 * D + 6 * H, text: 'Je m’en occupe, je vous envoie la liste d’ici la fin du mois.' }
	]
} satisfies Thread & { title: string };

/** A one-page PDF: the social worker's note. */
async function demoPdf(): Promise<Buffer> {
	// Loaded here, not with the module: the server imports the demo for its first start only, and
	// pdfkit (with its fonts) and sharp would otherwise stay in every process's memory.
	const { default: PDFDocument } = await import('pdfkit');
	return new Promise((resolve, reject) => {
		const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: 'Compte rendu — rendez-vous bailleur' } });
		const chunks: Buffer[] = [];
		doc.on('data', (c: Buffer) => chunks.push(c));
		doc.on('end', () => resolve(Buffer.concat(chunks)));
		doc.on('error', reject);
		doc.fontSize(16).text('Compte rendu — rendez-vous avec le bailleur social');
		doc.moveDown().fontSize(11).text('Accompagnement : Karim Mansouri, travailleur social, Cabinet des Tanneurs.');
		doc.moveDown().text('Objet : dette locative (loyers impayés de juin à septembre).');
		doc.moveDown().text('Résultat : plan d’apurement accepté par le bailleur, 50 € par mois sur 18 mois, à compter du mois prochain. Demande d’aide au FSL déposée en parallèle.');
		doc.moveDown().text('Suite : point à un mois avec la personne ; signaler à l’équipe toute difficulté de paiement.');
		doc.end();
	});
}

/** A small PNG (a month's grid of permanences) and its thumbnail, as an upload would keep them. */
async function demoImage(): Promise<{ png: Buffer; thumbnail: Buffer }> {
	const cells: string[] = [];
	const colours = ['#dbeafe', '#dcfce7', '#fef3c7', '#fde2e2'];
	for (let week = 0; week < 5; week++)
		for (let day = 0; day < 5; day++)
			cells.push(`<rect x="${20 + day * 124}" y="${70 + week * 78}" width="116" height="70" rx="6" fill="${colours[(week + day) % colours.length]}" stroke="#94a3b8"/>`);
	const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="660" height="480"><rect width="660" height="480" fill="#ffffff"/><rect x="20" y="16" width="620" height="40" rx="6" fill="#1e3a8a"/>${cells.join('')}</svg>`;
	const { default: sharp } = await import('sharp');
	const png = await sharp(Buffer.from(svg)).png().toBuffer();
	const thumbnail = await sharp(png).resize({ width: 320, height: 320, fit: 'inside' }).webp({ quality: 70 }).toBuffer();
	return { png, thumbnail };
}

export interface DemoMessagingSummary {
	conversations: number;
	messages: number;
	unreadForInes: number;
}

export async function seedDemoMessaging(db: Db, msId: string, users: Record<string, string>, now = new Date()): Promise<DemoMessagingSummary> {
	const [pdf, image] = await Promise.all([demoPdf(), demoImage()]);
	const actors = new Map(await Promise.all(Object.values(users).map(async (id) => [id, await loadActor(db, id)] as const)));
	const actor = (login: string) => actors.get(users[login])!;
	let messages = 0;
	let unreadForInes = 0;

	async function fill(conversationId: string, thread: Thread): Promise<void> {
		const ids: string[] = [];
		for (const line of thread.lines) {
			const sender = actor(line.from);
			const c = await openConversation(db, sender, conversationId);
			if (!c) throw new Error(`demo messaging: ${line.from} cannot read ${conversationId}`);
			const attach = line.attach
				? async (trx: Db, messageId: string) => {
						const file =
							line.attach === 'pdf'
								? { kind: 'file' as const, filename: 'compte-rendu-bailleur.pdf', content_type: 'application/pdf', content: pdf, thumbnail: null }
								: { kind: 'image' as const, filename: 'permanences-decembre.png', content_type: 'image/png', content: image.png, thumbnail: image.thumbnail };
						await trx.insertInto('message_attachment').values({ message_id: messageId, conversation_id: conversationId, size: file.content.length, ...file }).execute();
					}
				: undefined;
			const posted = await postMessage(db, { actorId: sender.userId }, c, { clientId: randomUUID(), body: line.text }, attach);
			if (!posted.ok) throw new Error(`demo messaging: ${posted.error}`);
			ids.push(posted.message.id);
			messages += 1;
		}
		// The instants they were written, and everyone's reading up to date except Inès's last ones.
		for (const [i, line] of thread.lines.entries()) {
			const at = new Date(now.getTime() - line.ago * 60_000);
			await db.updateTable('message').set({ created_at: at }).where('id', '=', ids[i]).execute();
			await db.updateTable('message_attachment').set({ created_at: at }).where('message_id', '=', ids[i]).execute();
		}
		const last = new Date(now.getTime() - thread.lines[thread.lines.length - 1].ago * 60_000);
		await db.updateTable('conversation').set({ last_message_at: last, created_at: new Date(now.getTime() - thread.lines[0].ago * 60_000 - 60_000) }).where('id', '=', conversationId).execute();
		const seqs = thread.lines.length;
		const readers = new Set([...thread.people, ...thread.lines.map((l) => l.from)]);
		for (const login of readers) {
			const reader = actor(login);
			const c = (await openConversation(db, reader, conversationId))!;
			const upTo = login === 'ines.haddad' ? seqs - thread.unreadForInes : seqs;
			await markRead(db, reader.userId, c, upTo);
		}
		await db
			.updateTable('conversation_read')
			.set({ read_at: sql`least(read_at, ${last})` })
			.where('conversation_id', '=', conversationId)
			.execute();
		unreadForInes += thread.lines.slice(seqs - thread.unreadForInes).filter((l) => l.from !== 'ines.haddad').length;
	}

	// Patient threads: Tanneurs patients followed now whose care team holds the people writing.
	const candidates = await db
		.selectFrom('patient as p')
		.select(['p.id', sql<string[]>`array(select t.user_id::text from patient_team_member t where t.patient_id = p.id)`.as('team')])
		.where('p.microstructure_id', '=', msId)
		.where('p.state', 'in', ['inclus', 'en_suivi'])
		.where('p.anonymised_at', 'is', null)
		.orderBy('p.code')
		.execute();
	const used = new Set<string>();
	let conversations = 0;
	for (const thread of PATIENT_THREADS) {
		const patient = candidates.find((p) => !used.has(p.id) && thread.people.every((login) => p.team.includes(users[login])));
		if (!patient) throw new Error(`demo messaging: no Tanneurs patient followed by ${thread.people.join(', ')}`);
		used.add(patient.id);
		await fill(await patientThreadId(db, patient.id, msId), thread);
		conversations += 1;
	}

	const team = await teamConversationId(db, msId);
	await fill(team, TEAM);
	const direct = await startDirect(db, actor('ines.haddad'), users['camille.durand']);
	if (!direct.ok) throw new Error(`demo messaging: ${direct.error}`);
	await fill(direct.id, DIRECT);
	const group = await startGroup(
		db,
		actor('paul.schmitt'),
		GROUP.title,
		GROUP.people.map((l) => users[l])
	);
	if (!group.ok) throw new Error(`demo messaging: ${group.error}`);
	await fill(group.id, GROUP);
	conversations += 3;
	return { conversations, messages, unreadForInes };
}
