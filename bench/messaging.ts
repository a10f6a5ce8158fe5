// Benchmark (messaging, issue 13): delivery over socket.io against PostgreSQL compared in the same
// run with a bare socket.io echo server, and French search over a million messages.
//
//   1. A fresh PostgreSQL database (msh_bench_msg_<pid>, dropped at the end), migrated, with 500
//      professionals written straight in SQL: 50 microstructures of 10 (one network), 200
//      conversations — the 50 team conversations (10 readers), 50 patient threads (a care team of
//      4) and 100 groups of 2 to 10 people of one or two microstructures — and a session each.
//   2. Two servers as child processes of this script: the app's realtime server (attachRealtime:
//      session cookies, the policy, messaging/service.ts, PostgreSQL) and a bare socket.io server
//      that does what delivery needs and nothing else: the same `user:<id>` rooms, the same
//      readers per conversation (given to it in memory), a counter for the order, no database.
//   3. The same 500 clients (one socket each; once connected each asks for its unread badge, as every
//      signed-in page does) and the same sending schedule against each server in
//      turn, in BENCH_ROUNDS (default 4) rounds echo/app so that both see the same machine: every
//      person posts to one of their conversations every 10–20 s (uniform), BENCH_SECONDS (default
//      40) in all per server, after BENCH_WARMUP_S (default 3) per round. Delivery latency
//      = from the emit to the msg:new at each other reader (one clock: all clients are in this
//      process). After the app's window, the database is counted: every acknowledged message must
//      be stored (it is committed before its acknowledgement by design), once.
//      lost = acknowledged but missing at some reader or (app) not stored;
//      duplicated = received twice by a reader or stored twice.
//   4. Search: 1,000,000 messages generated with set-based SQL (French vocabulary drawn with a skew,
//      so that some words are everywhere and most are rare, as in real text) over 20,000
//      conversations, of which one GP reads 5,000 (4,995 patient threads of the patients whose care
//      team they are in, across 5 microstructures, and the 5 team conversations); BENCH_SEARCHES
//      (default 200) random French queries (one or two words, accents dropped or not, a phrase now
//      and then) through searchMessages (src/lib/server/messaging/search.ts): p50/p95/max.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/messaging.ts
//
// PostgreSQL only. Not part of `npm test`. The last line reads
//   delivery p99=<ms> ms vs echo p99=<ms> ms (ratio <r>); lost=<n> duplicated=<n>; search p95=<ms> ms
// Knobs: BENCH_USERS (500), BENCH_SECONDS, BENCH_WARMUP_S, BENCH_SEARCH_MESSAGES (1,000,000),
// BENCH_SEARCHES, BENCH_SKIP_SEARCH=1, BENCH_QUIET_WAIT_S (30), BENCH_KEEP_DB=1 (keep the database to study it).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Server } from 'socket.io';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { cpuSeconds, postgresCpu, postgresCpuDelta, waitForQuietMachine } from './machine.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const USERS = Number(process.env.BENCH_USERS || 500);
const PER_MS = 10;
const MEASURE_S = Number(process.env.BENCH_SECONDS || 40);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S || 3);
/** The window is cut in rounds, echo and app in turn, so that both see the same machine (others' load comes and goes). */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS || 4));
const SEARCH_MESSAGES = Number(process.env.BENCH_SEARCH_MESSAGES || 1_000_000);
const SEARCHES = Number(process.env.BENCH_SEARCHES || 200);
const QUIET_WAIT_S = Number(process.env.BENCH_QUIET_WAIT_S || 30);
const SEND_EVERY_MS: [number, number] = [10_000, 20_000];
const DRAIN_MS = 5000;
process.env.LOG_LEVEL ??= 'warn';

interface Conversation {
	id: string;
	kind: 'team' | 'patient' | 'group';
	/** Who reads it (members, care team): the audience the app computes, and the echo server's rooms. */
	readers: string[];
}

// ---------------------------------------------------------------------------------------------
// Child processes: the app's realtime server, or the bare echo server
// ---------------------------------------------------------------------------------------------

async function serveApp(): Promise<void> {
	process.env.NIR_KEYS ??= `bench:${Buffer.alloc(32, 7).toString('base64')}`;
	const { attachRealtime } = await import('../src/lib/server/realtime/attach.ts');
	const server = createServer((_req, res) => {
		res.statusCode = 404;
		res.end();
	});
	await attachRealtime(server);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	console.log(`READY ${(server.address() as AddressInfo).port}`);
}

async function serveEcho(): Promise<void> {
	// The readers of each conversation arrive on stdin (one JSON line), as the app reads them from its database.
	const readers = new Map<string, string[]>();
	const seqs = new Map<string, number>();
	const server = createServer((_req, res) => {
		res.statusCode = 404;
		res.end();
	});
	const io = new Server(server, { path: '/socket.io', serveClient: false, pingInterval: 10_000, pingTimeout: 5_000 });
	io.on('connection', (socket) => {
		const userId = String((socket.handshake.auth as { userId?: string }).userId);
		void socket.join(`user:${userId}`);
		socket.on('msg:list', (_payload: unknown, ack: (r: unknown) => void) => ack({ ok: true, conversations: [], total: 0 }));
		socket.on('msg:send', (payload: { conversationId: string; clientId: string; body: string }, ack: (r: unknown) => void) => {
			const to = readers.get(payload.conversationId);
			if (!to) return ack({ ok: false, error: 'Conversation introuvable.' });
			const seq = (seqs.get(payload.conversationId) ?? 0) + 1;
			seqs.set(payload.conversationId, seq);
			const message = { id: randomUUID(), conversationId: payload.conversationId, seq, senderId: userId, clientId: payload.clientId, body: payload.body, createdAt: new Date().toISOString() };
			io.to(to.map((id) => `user:${id}`)).emit('msg:new', message);
			ack({ ok: true, message, duplicate: false });
		});
	});
	let input = '';
	process.stdin.on('data', (chunk: Buffer) => {
		input += chunk.toString();
		const nl = input.indexOf('\n');
		if (nl < 0) return;
		for (const c of JSON.parse(input.slice(0, nl)) as Conversation[]) readers.set(c.id, c.readers);
		server.listen(0, '127.0.0.1', () => console.log(`READY ${(server.address() as AddressInfo).port}`));
	});
}


// ---------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------

function quantile(xs: number[], q: number): number {
	if (xs.length === 0) return NaN;
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
const summary = (xs: number[]) =>
	`p50 ${quantile(xs, 0.5).toFixed(1)} ms, p95 ${quantile(xs, 0.95).toFixed(1)} ms, p99 ${quantile(xs, 0.99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})`;

/** A deterministic generator, so that both servers get the same schedule and choices. */
function rng(seed: number) {
	let s = seed >>> 0;
	return () => {
		s = (s + 0x6d2b79f5) >>> 0;
		let t = s;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function startChild(role: 'app' | 'echo', env: NodeJS.ProcessEnv, stdin?: string): Promise<{ child: ChildProcess; port: number }> {
	const child = spawn(process.execPath, ['--import', 'tsx', 'bench/messaging.ts'], {
		cwd: ROOT,
		env: { ...process.env, ...env, BENCH_ROLE: role },
		stdio: ['pipe', 'pipe', 'inherit']
	});
	if (stdin) child.stdin!.write(`${stdin}\n`);
	return new Promise((resolve, reject) => {
		let out = '';
		const timer = setTimeout(() => reject(new Error(`${role} server not ready after 90 s: ${out}`)), 90_000);
		child.stdout!.on('data', (chunk: Buffer) => {
			out += chunk.toString();
			const m = /READY (\d+)/.exec(out);
			if (!m) return;
			clearTimeout(timer);
			child.stdout!.removeAllListeners('data');
			child.stdout!.resume();
			resolve({ child, port: Number(m[1]) });
		});
		child.once('exit', (code) => reject(new Error(`${role} server exited (${code}): ${out}`)));
	});
}

interface Phase {
	name: string;
	latencies: number[];
	acks: number[];
	sent: number;
	acked: Set<string>;
	refused: number;
	unanswered: number;
	lost: number;
	duplicated: number;
	/** Received by someone who is not a reader of the conversation (must be 0). */
	leaked: number;
	cpu: number;
	pgCpu: number;
}

interface Pending {
	t0: number;
	sender: string;
	readers: string[];
	got: Map<string, number>;
	inWindow: boolean;
}

function newPhase(name: string): Phase {
	return { name, latencies: [], acks: [], sent: 0, acked: new Set(), refused: 0, unanswered: 0, lost: 0, duplicated: 0, leaked: 0, cpu: 0, pgCpu: 0 };
}

/** One round against one server: connect everyone, WARMUP_S then windowS of traffic, drain, count; adds to `phase`. */
async function runPhase(
	phase: Phase,
	seed: number,
	windowS: number,
	port: number,
	users: string[],
	handshake: (userId: string) => { extraHeaders?: Record<string, string>; auth?: Record<string, string> },
	conversationsOf: Map<string, Conversation[]>,
	serverPid: number,
	database: string | null
): Promise<void> {
	const name = phase.name;
	const sockets = new Map<string, ClientSocket>();
	const pending = new Map<string, Pending>();
	// Connect everyone, a few at a time (a page load each).
	for (let i = 0; i < users.length; i += 25) {
		await Promise.all(
			users.slice(i, i + 25).map(
				(userId) =>
					new Promise<void>((resolve, reject) => {
						const socket = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 20_000, ...handshake(userId) });
						sockets.set(userId, socket);
						socket.on('msg:new', (m: { clientId: string; conversationId: string }) => {
							const now = performance.now();
							const p = pending.get(m.clientId);
							if (!p) return;
							const n = (p.got.get(userId) ?? 0) + 1;
							p.got.set(userId, n);
							if (n > 1) phase.duplicated++;
							if (!p.readers.includes(userId)) phase.leaked++;
							else if (n === 1 && userId !== p.sender && p.inWindow) phase.latencies.push(now - p.t0);
						});
						// As every signed-in page does (realtime/signed-in.ts): ask for the badge once connected.
						socket.once('connect', () => socket.emit('msg:list', {}, () => resolve()));
						socket.once('connect_error', reject);
					})
			)
		);
	}
	const random = rng(seed);
	const start = performance.now();
	const windowStart = start + WARMUP_S * 1000;
	const end = windowStart + windowS * 1000;
	const timers: NodeJS.Timeout[] = [];
	let cpu0 = 0;
	let pg0 = new Map<number, number>();
	timers.push(
		setTimeout(() => {
			cpu0 = cpuSeconds(serverPid);
			if (database) pg0 = postgresCpu(database);
		}, WARMUP_S * 1000)
	);
	const acks: Promise<void>[] = [];
	// Every person, in their own rhythm: first post within the first interval, then every 10–20 s.
	for (const userId of users) {
		const mine = conversationsOf.get(userId) ?? [];
		if (mine.length === 0) continue;
		const next = (delay: number) => {
			const at = performance.now() + delay;
			if (at >= end) return;
			timers.push(
				setTimeout(() => {
					const c = mine[Math.floor(random() * mine.length)];
					const clientId = randomUUID();
					const t0 = performance.now();
					pending.set(clientId, { t0, sender: userId, readers: c.readers, got: new Map(), inWindow: t0 >= windowStart });
					phase.sent++;
					acks.push(
						(sockets.get(userId)!.timeout(30_000).emitWithAck('msg:send', { conversationId: c.id, clientId, body: `Point de suivi ${phase.sent} : rappel du rendez-vous, ordonnance à renouveler.` }) as Promise<{ ok: boolean }>).then(
							(ack) => {
								if (!ack.ok) return void phase.refused++;
								phase.acked.add(clientId);
								if (t0 >= windowStart) phase.acks.push(performance.now() - t0);
							},
							() => void phase.unanswered++
						)
					);
					next(SEND_EVERY_MS[0] + random() * (SEND_EVERY_MS[1] - SEND_EVERY_MS[0]));
				}, delay)
			);
		};
		next(random() * SEND_EVERY_MS[1]);
	}
	await new Promise((resolve) => setTimeout(resolve, end - performance.now()));
	phase.cpu += cpuSeconds(serverPid) - cpu0;
	if (database) phase.pgCpu += postgresCpuDelta(pg0, postgresCpu(database));
	await Promise.all(acks);
	await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
	for (const t of timers) clearTimeout(t);

	for (const [clientId, p] of pending) {
		if (!phase.acked.has(clientId)) continue;
		if (p.readers.some((r) => !p.got.has(r))) phase.lost++;
	}
	for (const s of sockets.values()) s.disconnect();
	console.log(`${name}: round with ${sockets.size} clients, ${phase.sent} sent so far`);
}

function report(p: Phase): void {
	console.log(
		`${p.name}: ${p.sent} sent (${(p.sent / (ROUNDS * WARMUP_S + MEASURE_S)).toFixed(1)}/s), ${p.acked.size} acknowledged, ${p.refused} refused, ${p.unanswered} unanswered; ` +
			`lost ${p.lost}, duplicated ${p.duplicated}, delivered to a non-reader ${p.leaked}`
	);
	console.log(`${p.name}: delivery ${summary(p.latencies)}`);
	console.log(`${p.name}: acknowledgement ${summary(p.acks)}`);
	console.log(`${p.name}: server CPU ${((100 * p.cpu) / MEASURE_S).toFixed(0)}% of a core${p.pgCpu ? `, PostgreSQL ${((100 * p.pgCpu) / MEASURE_S).toFixed(0)}% of a core` : ''} over the window`);
}

async function main(): Promise<void> {
	const base = process.env.DATABASE_URL;
	if (!base) throw new Error('bench/messaging.ts needs DATABASE_URL (PostgreSQL)');
	const { createDb } = await import('../src/lib/server/db/index.ts');
	const { migrateToLatest } = await import('../src/lib/server/db/migrate.ts');
	const { createSession, generateSessionToken } = await import('../src/lib/server/auth/session.ts');
	const { databaseUrlFor } = await import('../tests/helpers/global-setup.ts');

	const database = `msh_bench_msg_${process.pid}`;
	const admin = new pg.Client({ connectionString: base });
	await admin.connect();
	await admin.query(`create database ${database}`);
	const url = databaseUrlFor(base, database);
	const pool = new pg.Pool({ connectionString: url, max: 4 });
	const db = createDb(pool);
	const children: ChildProcess[] = [];
	try {
		await migrateToLatest(db);

		// -- People and conversations -------------------------------------------------------------
		const t0 = performance.now();
		const MS = Math.ceil(USERS / PER_MS);
		const q = (text: string, values: unknown[] = []) => pool.query(text, values);
		const network = (await q(`insert into network (name) values ('Réseau du banc d''essai') returning id`)).rows[0].id as string;
		const ms = (
			await q(`insert into microstructure (network_id, name, programmes) select $1, 'Microstructure ' || g, '{MSMA}' from generate_series(1, $2) g returning id`, [network, MS])
		).rows.map((r) => r.id as string);
		const users = (
			await q(
				`insert into app_user (email, first_name, last_name, profession, password_hash)
				 select 'bench-' || g || '@example.test', 'Prénom' || g, 'Nom' || g, (array['medecin_generaliste','psychologue','travailleur_social','infirmier'])[1 + g % 4], 'x'
				 from generate_series(1, $1) g order by g returning id`,
				[USERS]
			)
		).rows.map((r) => r.id as string);
		await q(
			`insert into membership (user_id, microstructure_id, role, starts_on) select u, m, 'soignant', current_date - 30 from unnest($1::uuid[], $2::uuid[]) as x(u, m)`,
			[users, users.map((_, i) => ms[Math.floor(i / PER_MS)])]
		);
		const members = (k: number) => users.slice(k * PER_MS, (k + 1) * PER_MS);
		const random = rng(7);
		const pick = <T>(xs: T[], n: number) => [...xs].sort(() => random() - 0.5).slice(0, n);
		const conversations: Conversation[] = [];
		for (let k = 0; k < MS; k++) {
			const row = (await q(`insert into conversation (kind, microstructure_id) values ('team', $1) returning id`, [ms[k]])).rows[0];
			conversations.push({ id: row.id, kind: 'team', readers: members(k) });
		}
		for (let k = 0; k < MS; k++) {
			const patient = (
				await q(
					`insert into patient (microstructure_id, code, last_name, first_name, birth_date, sex, programme, motif, orientation, state, included_on)
					 values ($1, $2, 'Patient', 'Banc', '1970-01-01', 'F', 'MSMA', 'addiction', 'psychologue', 'inclus', current_date - 100) returning id`,
					[ms[k], `B-${k}-${randomUUID().slice(0, 8)}`]
				)
			).rows[0].id as string;
			const team = pick(members(k), 4);
			await q(`insert into patient_team_member (patient_id, user_id) select $1, unnest($2::uuid[])`, [patient, team]);
			const row = (await q(`insert into conversation (kind, microstructure_id, patient_id) values ('patient', $1, $2) returning id`, [ms[k], patient])).rows[0];
			conversations.push({ id: row.id, kind: 'patient', readers: team });
		}
		const GROUPS = Math.max(200 - 2 * MS, MS);
		for (let g = 0; g < GROUPS; g++) {
			const k = g % MS;
			const size = 2 + Math.floor(random() * 9);
			// A group of one microstructure, or of two of the same network.
			const pool2 = random() < 0.5 ? members(k) : [...members(k), ...members((k + 1) % MS)];
			const who = pick(pool2, Math.min(size, pool2.length));
			const row = (await q(`insert into conversation (kind, title, created_by) values ('group', 'Groupe ' || $1::text, $2) returning id`, [g, who[0]])).rows[0];
			await q(`insert into conversation_member (conversation_id, user_id) select $1, unnest($2::uuid[])`, [row.id, who]);
			conversations.push({ id: row.id, kind: 'group', readers: who });
		}
		const conversationsOf = new Map<string, Conversation[]>();
		for (const c of conversations) for (const r of c.readers) conversationsOf.set(r, [...(conversationsOf.get(r) ?? []), c]);
		const cookies = new Map<string, string>();
		for (const u of users) {
			const token = generateSessionToken();
			await createSession(db, token, u, { twoFactorVerified: true });
			cookies.set(u, `session=${token}`);
		}
		// Statistics, as autovacuum would have gathered them on a running database (it may be off on
		// a test machine): without them the planner takes these tables for empty and picks bad plans.
		await q('analyze');
		const fanout = conversations.reduce((n, c) => n + c.readers.length, 0) / conversations.length;
		console.log(
			`fixture: ${users.length} people in ${MS} microstructures, ${conversations.length} conversations (${conversations.filter((c) => c.kind === 'team').length} team, ` +
				`${conversations.filter((c) => c.kind === 'patient').length} patient threads, ${conversations.filter((c) => c.kind === 'group').length} groups), ` +
				`${fanout.toFixed(1)} readers per conversation on average; ${((performance.now() - t0) / 1000).toFixed(1)} s`
		);

		// -- Delivery: echo, then the app ------------------------------------------------------------
		const echo = await startChild('echo', {}, JSON.stringify(conversations));
		children.push(echo.child);
		const app = await startChild('app', { DATABASE_URL: url });
		children.push(app.child);
		const echoPhase = newPhase('echo');
		const appPhase = newPhase('app');
		const busy = await waitForQuietMachine('delivery', QUIET_WAIT_S * 1000);
		console.log(`delivery: ${ROUNDS} rounds of ${(MEASURE_S / ROUNDS).toFixed(0)} s (+${WARMUP_S} s warm-up) against each server in turn; other processes used ${busy.toFixed(0)}% of a core at the start`);
		for (let round = 0; round < ROUNDS; round++) {
			// The same seed for both servers in a round: the same people post to the same conversations.
			await runPhase(echoPhase, 100 + round, MEASURE_S / ROUNDS, echo.port, users, (u) => ({ auth: { userId: u } }), conversationsOf, echo.child.pid!, null);
			await runPhase(appPhase, 100 + round, MEASURE_S / ROUNDS, app.port, users, (u) => ({ extraHeaders: { Cookie: cookies.get(u)! } }), conversationsOf, app.child.pid!, database);
		}
		report(echoPhase);
		// Durable before acknowledged: every acknowledged client id is in the database, once.
		const stored = (
			await q(`select client_id, count(*)::int as n from message where client_id = any($1::uuid[]) group by client_id`, [[...appPhase.acked]])
		).rows as { client_id: string; n: number }[];
		const storedOnce = new Set(stored.filter((r) => r.n === 1).map((r) => r.client_id));
		const missing = [...appPhase.acked].filter((id) => !storedOnce.has(id) && !stored.some((r) => r.client_id === id)).length;
		const storedTwice = stored.filter((r) => r.n > 1).length;
		appPhase.lost += missing;
		appPhase.duplicated += storedTwice;
		report(appPhase);
		console.log(`app: ${stored.length} of ${appPhase.acked.size} acknowledged messages in the database (${missing} missing, ${storedTwice} stored twice)`);
		for (const c of children) c.kill('SIGTERM');

		// -- Search -----------------------------------------------------------------------------------
		let searchP95 = NaN;
		if (process.env.BENCH_SKIP_SEARCH !== '1') searchP95 = await searchBench(db, q);

		const p99 = quantile(appPhase.latencies, 0.99);
		const echoP99 = quantile(echoPhase.latencies, 0.99);
		console.log(
			`delivery p99=${p99.toFixed(1)} ms vs echo p99=${echoP99.toFixed(1)} ms (ratio ${(p99 / echoP99).toFixed(2)}); ` +
				`lost=${appPhase.lost + echoPhase.lost} duplicated=${appPhase.duplicated + echoPhase.duplicated}; search p95=${searchP95.toFixed(1)} ms`
		);
	} finally {
		for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
		await db.destroy();
		await new Promise((resolve) => setTimeout(resolve, 500));
		if (process.env.BENCH_KEEP_DB === '1') console.log(`kept database ${database}`);
		else await admin.query(`drop database if exists ${database} with (force)`);
		await admin.end();
	}
	process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Search over a million messages
// ---------------------------------------------------------------------------------------------

// French words of the trade and of everyday messages; drawn with a skew (the first ones often).
const VOCABULARY = `patient rendez-vous suivi ordonnance traitement médecin psychologue consultation appel famille semaine demain
	matin soir équipe dossier rappel message point situation sevrage alcool tabac cannabis opiacés méthadone buprénorphine
	entretien motivation rechute abstinence consommation réduction risques hôpital urgences hospitalisation sortie
	logement hébergement travailleur social assistante CAF RSA mutuelle CMU droits ouverture dossier MDPH
	pharmacie délivrance posologie dosage augmentation diminution ordonnance sécurisée renouvellement
	anxiété dépression sommeil insomnie humeur idées noires crise angoisse bilan évaluation questionnaire AUDIT
	prise de sang bilan hépatique gamma GT transaminases hépatite VIH dépistage vaccin
	conjoint enfants école garde juge éducateur protection enfance signalement
	travail arrêt maladie reprise employeur médecine du travail chômage Pôle emploi formation
	RCP réunion concertation PPS plan personnalisé objectifs évaluation trimestrielle synthèse
	coordination infirmière kinésithérapeute diététicienne addictologue CSAPA CAARUD centre orientation
	accueil premier contact inclusion consentement sortie fin accompagnement transfert
	lundi mardi mercredi jeudi vendredi samedi janvier février mars avril mai juin juillet août septembre octobre novembre décembre
	merci bonjour bonne journée confirmé annulé reporté déplacé absent excusé venu
	téléphone courriel courrier compte-rendu résultat analyse radio scanner IRM cardiologue gastro-entérologue
	amélioration stabilisation dégradation inquiétude vigilance surveillance alerte urgence priorité
	voiture transport ambulance taxi domicile visite déplacement permanence salle cabinet maison de santé
	Strasbourg Neuhof Haguenau Colmar Mulhouse Tanneurs Schiltigheim Illkirch Lingolsheim Bischheim
	budget forfait séance remboursement facturation programme MSMA MSPP psychothérapie TCC EMDR hypnose
	naltrexone baclofène acamprosate disulfirame nicotine substitut patch gomme vapoteuse
	généraliste psychiatre pédopsychiatre sage-femme grossesse allaitement contraception
	violence conjugale hébergement urgence 115 SIAO foyer CHRS pension maison-relais`
	.split(/\s+/)
	.filter(Boolean);

async function searchBench(db: import('../src/lib/server/db/index.ts').Db, q: (text: string, values?: unknown[]) => Promise<pg.QueryResult>): Promise<number> {
	const { searchMessages } = await import('../src/lib/server/messaging/search.ts');
	const { loadActor } = await import('../src/lib/server/access/policy.ts');
	const CONVERSATIONS = 20_000;
	const READABLE_MS = 5;
	const t0 = performance.now();
	const network = (await q(`insert into network (name) values ('Réseau de la recherche') returning id`)).rows[0].id as string;
	const ms = (await q(`insert into microstructure (network_id, name, programmes) select $1, 'Recherche ' || g, '{MSMA}' from generate_series(1, 20) g returning id`, [network])).rows.map(
		(r) => r.id as string
	);
	const people = (
		await q(
			`insert into app_user (email, first_name, last_name, profession, password_hash)
			 select 'search-' || g || '@example.test', 'Prénom' || g, 'Recherche' || g, 'medecin_generaliste', 'x' from generate_series(1, 40) g order by g returning id`
		)
	).rows.map((r) => r.id as string);
	const reader = people[0];
	// The reader works in 5 microstructures; the others in all 20.
	await q(`insert into membership (user_id, microstructure_id, role, starts_on) select $1, unnest($2::uuid[]), 'soignant', current_date - 400`, [reader, ms.slice(0, READABLE_MS)]);
	await q(
		`insert into membership (user_id, microstructure_id, role, starts_on) select p, m, 'soignant', current_date - 400 from unnest($1::uuid[]) p, unnest($2::uuid[]) m`,
		[people.slice(1), ms]
	);
	// 20,000 conversations: the 20 team conversations, 4,995 patient threads in the reader's care teams
	// (in their 5 microstructures), and 14,985 patient threads of the other 15 microstructures.
	await q(`insert into conversation (kind, microstructure_id) select 'team', unnest($1::uuid[])`, [ms]);
	const threads = CONVERSATIONS - ms.length;
	const mine = 5000 - READABLE_MS;
	await q(
		`insert into patient (microstructure_id, code, last_name, first_name, birth_date, sex, programme, motif, orientation, state, included_on)
		 select ($1::uuid[])[case when g <= $2 then 1 + g % $3 else 1 + $3 + g % (array_length($1::uuid[], 1) - $3) end],
			'R-' || g, 'Patient' || g, 'Prénom', '1970-01-01', 'F', 'MSMA', 'addiction', 'psychologue', 'inclus', current_date - 100
		 from generate_series(1, $4) g`,
		[ms, mine, READABLE_MS, threads]
	);
	await q(`insert into patient_team_member (patient_id, user_id) select id, $1 from patient where code like 'R-%' and substring(code from 3)::int <= $2`, [reader, mine]);
	await q(`insert into patient_team_member (patient_id, user_id) select id, $1 from patient where code like 'R-%'`, [people[1]]);
	await q(`insert into conversation (kind, microstructure_id, patient_id) select 'patient', microstructure_id, id from patient where code like 'R-%'`);
	const conversations = (await q(`select id from conversation where microstructure_id = any($1::uuid[]) order by id`, [ms])).rows.map((r) => r.id as string);
	console.log(`search fixture: ${conversations.length} conversations; ${((performance.now() - t0) / 1000).toFixed(1)} s`);

	// The messages, in batches (progress shown), the indexes rebuilt once at the end.
	const t1 = performance.now();
	await q(`drop index if exists message_search`);
	await q(`drop index if exists message_recent`);
	const BATCH = 100_000;
	for (let from = 0; from < SEARCH_MESSAGES; from += BATCH) {
		const to = Math.min(SEARCH_MESSAGES, from + BATCH);
		await q(
			`insert into message (conversation_id, seq, sender_id, client_id, body, created_at)
			 select ($1::uuid[])[1 + g % $2], 1 + g / $2, ($3::uuid[])[1 + g % array_length($3::uuid[], 1)], gen_random_uuid(),
				array_to_string(array(select ($4::text[])[1 + floor(power(random(), 2.2) * array_length($4::text[], 1))::int] from generate_series(1, 6 + (g * 7) % 22 + 0 * g)), ' '),
				now() - (($5 - g) * interval '20 seconds')
			 from generate_series($6::int, $7::int) g`,
			[conversations, conversations.length, people, VOCABULARY, SEARCH_MESSAGES, from, to - 1]
		);
		process.stdout.write(`\rmessages: ${to.toLocaleString('en')} of ${SEARCH_MESSAGES.toLocaleString('en')}`);
	}
	process.stdout.write('\n');
	await q(`update conversation c set last_seq = x.n, last_message_at = x.at from (select conversation_id, max(seq) n, max(created_at) at from message group by conversation_id) x where x.conversation_id = c.id`);
	await q(`create index message_search on message using gin (search)`);
	await q(`create index message_recent on message (created_at desc, id desc) where deleted_at is null`);
	await q(`vacuum analyze message`);
	await q(`analyze`);
	const count = Number((await q(`select count(*) from message`)).rows[0].count);
	console.log(`search: ${count.toLocaleString('en')} messages generated and indexed in ${((performance.now() - t1) / 1000).toFixed(0)} s`);

	const actor = await loadActor(db, reader);
	const readable = Number(
		(
			await q(
				`select count(*) from conversation c where (c.kind = 'team' and c.microstructure_id = any($1::uuid[]))
				 or (c.kind = 'patient' and exists (select 1 from patient_team_member t where t.patient_id = c.patient_id and t.user_id = $2))`,
				[ms.slice(0, READABLE_MS), reader]
			)
		).rows[0].count
	);
	console.log(`search: the reader reads ${readable.toLocaleString('en')} conversations`);

	const random = rng(11);
	const fold = (w: string) => w.normalize('NFD').replace(/\p{M}/gu, '');
	const word = () => VOCABULARY[Math.floor(random() * VOCABULARY.length)];
	const queries: string[] = [];
	for (let i = 0; i < SEARCHES; i++) {
		const r = random();
		let query = r < 0.5 ? word() : r < 0.85 ? `${word()} ${word()}` : `"${word()} ${word()}"`;
		if (random() < 0.3) query = fold(query);
		if (query.replace(/"/g, '').length < 2) query = 'ordonnance';
		queries.push(query);
	}
	// Warm the caches a little (a running server is warm), then measure.
	for (const query of queries.slice(0, 10)) await searchMessages(db, actor, query);
	const times: number[] = [];
	const found: number[] = [];
	let refused = 0;
	for (const query of queries) {
		const s = performance.now();
		const result = await searchMessages(db, actor, query);
		times.push(performance.now() - s);
		if (result.ok) found.push(result.results.length);
		else refused++;
	}
	const worst = queries.map((query, i) => ({ query, ms: times[i] })).sort((a, b) => b.ms - a.ms).slice(0, 3);
	console.log(`search: ${summary(times)}; ${found.filter((n) => n > 0).length} queries with results (median ${quantile(found, 0.5)}), ${refused} refused (stop words only)`);
	console.log(`search: slowest ${worst.map((w) => `"${w.query}" ${w.ms.toFixed(0)} ms`).join(', ')}`);
	return quantile(times, 0.95);
}

// Last, once every declaration above is initialised.
if (process.env.BENCH_ROLE === 'app') await serveApp();
else if (process.env.BENCH_ROLE === 'echo') await serveEcho();
else await main();
