// A scale-out topology on one machine: N app processes (server/index.ts on the build) sharing one
// PostgreSQL database and one Redis, behind HAProxy balancing round-robin with no stickiness, as
// in production. Used by the scale-out end-to-end spec and by hand:
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 npm run topology
//
// The CLI creates a fresh database `msh_topology` on that server, migrates it and loads the demo
// once, then starts TOPOLOGY_PROCESSES (default 2) processes on PORT+1.. behind HAProxy on PORT
// (default 3000). Ctrl-C stops everything.
//
// The database is prepared before any process starts, by one process: the app processes then find
// it up to date. (Their own start-up migration is safe to run concurrently on PostgreSQL anyway:
// Kysely's migrator holds an advisory lock, and creating its tables tolerates a concurrent
// creation; the demo is never seeded by the app on a DATABASE_URL.)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveNodeOptions, SERVER_ENTRY } from './build-server.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HAPROXY = process.env.HAPROXY_PATH || '/usr/sbin/haproxy';

export interface Backend {
	readonly port: number;
	/** The app process's pid (a process group of its own). Changes on restart(). */
	readonly pid: number;
	/** Sends `signal` (default SIGKILL, as `kill -9`); waits for the exit unless it is SIGSTOP/SIGCONT. */
	kill(signal?: NodeJS.Signals): Promise<void>;
	/** Stops the process if it still runs (SIGTERM), starts it again on its port, waits for /healthz. */
	restart(): Promise<void>;
}

export interface Topology {
	/** The load balancer, as a browser reaches it. */
	url: string;
	backends: Backend[];
	/** Where each process writes its output (backend-<port>.log, haproxy.log). */
	logDir: string;
	stop(): Promise<void>;
}

export interface TopologyOptions {
	processes: number;
	/** HAProxy listens on this port, the app processes on port+1..port+processes. */
	port: number;
	databaseUrl: string;
	redisUrl: string;
	/** Added to each app process's environment (NIR_KEYS, LOG_LEVEL, SMTP_URL...). */
	env?: Record<string, string>;
	logDir?: string;
}

// ------------------------------------------------------------------ orphans

// The app processes and HAProxy run in process groups of their own (so that a kill reaches all of
// a process, and Ctrl-C in a terminal reaches only the CLI, which then stops them in order). A
// parent that dies without stopping them (SIGKILL, a Playwright worker torn down) would leave them
// running: a small detached reaper reads the groups to watch on a pipe from this process and kills
// them when the pipe closes, which the kernel does however this process ends.
const REAPER = `
const groups = new Set();
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
	buffered += chunk;
	const lines = buffered.split('\\n');
	buffered = lines.pop();
	for (const line of lines) {
		const n = Number(line);
		if (n > 0) groups.add(n);
		else if (n < 0) groups.delete(-n);
	}
});
process.stdin.on('close', () => {
	for (const g of groups) { try { process.kill(-g, 'SIGCONT'); process.kill(-g, 'SIGKILL'); } catch {} }
	process.exit(0);
});
`;

let reaper: ChildProcess | undefined;
const live = new Set<ChildProcess>();

function watch(child: ChildProcess) {
	live.add(child);
	reaperInput(`${child.pid}\n`);
	child.once('exit', () => {
		live.delete(child);
		reaperInput(`-${child.pid}\n`);
	});
}

function reaperInput(line: string) {
	if (!reaper) {
		reaper = spawn(process.execPath, ['-e', REAPER], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
		// Neither the reaper nor its pipe may keep this process alive.
		reaper.unref();
		(reaper.stdin as unknown as { unref(): void }).unref();
		reaper.stdin!.on('error', () => {});
		// A normal exit of this process: kill what is left synchronously (the reaper would too).
		process.once('exit', () => {
			for (const child of live) signalGroup(child, 'SIGCONT');
			for (const child of live) signalGroup(child, 'SIGKILL');
		});
	}
	reaper.stdin!.write(line);
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
	try {
		process.kill(-child.pid!, signal);
	} catch {
		// already gone
	}
}

function exited(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM (after SIGCONT, in case it is stopped), then SIGKILL if it has not exited in `graceMs`. */
async function terminate(child: ChildProcess, graceMs = 5000) {
	if (child.exitCode !== null || child.signalCode !== null) return;
	signalGroup(child, 'SIGCONT');
	signalGroup(child, 'SIGTERM');
	const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
	await exited(child);
	clearTimeout(timer);
	// Whatever else was in its group (nothing, normally).
	signalGroup(child, 'SIGKILL');
}

// ------------------------------------------------------------------ waiting

function tail(file: string, lines = 40): string {
	try {
		return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
	} catch {
		return '(no output)';
	}
}

/** Polls `url` until it answers 200; fails early if `child` exits, with the end of its log. */
async function waitHealthy(url: string, child: ChildProcess, log: string, what: string, timeoutMs = 90_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (child.exitCode !== null || child.signalCode !== null) {
			throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before ${url} answered. End of ${log}:\n${tail(log)}`);
		}
		try {
			const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
			await response.body?.cancel();
			if (response.status === 200) return;
		} catch {
			// not listening yet
		}
		if (Date.now() > deadline) throw new Error(`${what}: ${url} did not answer 200 within ${timeoutMs / 1000} s. End of ${log}:\n${tail(log)}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

/**
 * Waits until the load balancer hands requests to every process: HAProxy starts with its servers
 * up, so a first 200 says little about the health checks, which may still mark one down.
 */
async function waitAllServing(port: number, processes: number, haproxy: ChildProcess, log: string, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	let seen = new Set<string>();
	for (;;) {
		// Round-robin: 2N consecutive requests reach every server that is up.
		seen = new Set();
		for (let i = 0; i < 2 * processes; i++) {
			try {
				const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
				await response.body?.cancel();
				const server = response.headers.get('x-backend');
				if (response.status === 200 && server) seen.add(server);
			} catch {
				// counted as not serving
			}
		}
		if (seen.size === processes) return;
		if (haproxy.exitCode !== null || haproxy.signalCode !== null) throw new Error(`HAProxy exited. End of ${log}:\n${tail(log)}`);
		if (Date.now() > deadline) throw new Error(`HAProxy serves from ${[...seen].join(', ') || 'no process'}, not all ${processes}. End of ${log}:\n${tail(log)}`);
		await new Promise((r) => setTimeout(r, 250));
	}
}

function openLog(file: string, banner: string): number {
	const fd = openSync(file, 'a');
	writeSync(fd, `\n===== ${new Date().toISOString()} ${banner}\n`);
	return fd;
}

// ------------------------------------------------------------------ HAProxy

/** The load balancer's configuration: round-robin per request, no stickiness of any kind. */
export function haproxyConfig(port: number, backendPorts: number[]): string {
	return `# Written by scripts/topology.ts.
global
	maxconn 4096

defaults
	mode http
	# A dead process is not an error for the client: the request is sent again, and on the last
	# retries to another process (redispatch 1: on every retry, which is quicker than waiting for
	# the health check to mark it down).
	option redispatch 1
	retries 2
	option forwardfor
	timeout connect 2s
	timeout client 60s
	timeout server 60s
	timeout http-request 10s
	timeout http-keep-alive 10s
	# Yjs and socket.io websockets live long; their own pings keep them busier than this anyway.
	timeout tunnel 1h
	timeout check 1s

frontend app
	bind 127.0.0.1:${port}
	default_backend app

backend app
	balance roundrobin
	# HTTP/1.1 with a Host: HAProxy's default check (HTTP/1.0, no Host) gets a 400 from SvelteKit.
	option httpchk GET /healthz HTTP/1.1
	http-check send hdr Host localhost
	http-check expect status 200
	# Which process answered (tests and debugging; responses only, websocket upgrades included).
	http-response set-header X-Backend %[srv_name]
	default-server check inter 500 fall 2 rise 1
${backendPorts.map((p, i) => `\tserver app${i + 1} 127.0.0.1:${p}`).join('\n')}
`;
}

// ------------------------------------------------------------------ the topology

export async function startTopology(options: TopologyOptions): Promise<Topology> {
	if (!existsSync(join(ROOT, SERVER_ENTRY))) {
		throw new Error(`The app is not built: run \`npm run build\` before starting a topology (${SERVER_ENTRY} is missing).`);
	}
	if (!existsSync(HAPROXY)) {
		throw new Error(`HAProxy is missing (${HAPROXY}): install Debian's package (\`apt-get install -y haproxy\`) or set HAPROXY_PATH.`);
	}
	if (!(options.processes >= 1)) throw new Error('startTopology: at least one process');
	const logDir = options.logDir ?? mkdtempSync(join(tmpdir(), 'msh-topology-'));
	const children: ChildProcess[] = [];
	const backends: Backend[] = [];
	let haproxy: ChildProcess | undefined;
	let stopped = false;

	const stop = async () => {
		stopped = true;
		if (haproxy) await terminate(haproxy, 2000);
		await Promise.all(backends.map((b) => (b as BackendImpl).stopNow()));
	};

	try {
		for (let i = 1; i <= options.processes; i++) {
			const backend = new BackendImpl(options.port + i, logDir, {
				...(process.env as Record<string, string>),
				NODE_ENV: 'production',
				LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
				// One deployment's namespace in Redis: other topologies or test runs on the same Redis
				// would otherwise count as processes of this one (socket.io waits for their answers).
				REDIS_PREFIX: `topology-${options.port}`,
				...options.env,
				PORT: String(options.port + i),
				HOST: '127.0.0.1',
				DATABASE_URL: options.databaseUrl,
				REDIS_URL: options.redisUrl
			});
			backends.push(backend);
		}
		// One after the other: a failure then names the first process that failed.
		for (const b of backends) await (b as BackendImpl).start();

		const config = join(logDir, 'haproxy.cfg');
		writeFileSync(config, haproxyConfig(options.port, backends.map((b) => b.port)));
		const check = spawnSync(HAPROXY, ['-c', '-q', '-f', config], { encoding: 'utf8' });
		if (check.status !== 0) throw new Error(`HAProxy refuses ${config}:\n${check.stdout}${check.stderr}`);
		const log = join(logDir, 'haproxy.log');
		const fd = openLog(log, `haproxy on ${options.port}`);
		haproxy = spawn(HAPROXY, ['-f', config, '-db'], { detached: true, stdio: ['ignore', fd, fd] });
		closeSync(fd);
		watch(haproxy);
		children.push(haproxy);
		await waitHealthy(`http://127.0.0.1:${options.port}/healthz`, haproxy, log, 'HAProxy');
		await waitAllServing(options.port, backends.length, haproxy, log);
	} catch (error) {
		await stop();
		throw error;
	}

	return {
		url: `http://localhost:${options.port}`,
		backends,
		logDir,
		stop: () => (stopped ? Promise.resolve() : stop())
	};
}

class BackendImpl implements Backend {
	#child: ChildProcess | undefined;
	readonly #log: string;

	constructor(
		readonly port: number,
		logDir: string,
		private readonly env: Record<string, string>
	) {
		this.#log = join(logDir, `backend-${port}.log`);
	}

	get pid(): number {
		return this.#child?.pid ?? -1;
	}

	async start() {
		const fd = openLog(this.#log, `app process on ${this.port}`);
		// The compiled server, started as `npm run serve` starts it (node itself, not npm: a kill -9 of
		// the pid we know is the server's).
		const child = spawn(process.execPath, [...serveNodeOptions(), SERVER_ENTRY], { cwd: ROOT, env: this.env, detached: true, stdio: ['ignore', fd, fd] });
		closeSync(fd);
		this.#child = child;
		watch(child);
		await waitHealthy(`http://127.0.0.1:${this.port}/healthz`, child, this.#log, `the app process on port ${this.port}`);
	}

	async kill(signal: NodeJS.Signals = 'SIGKILL') {
		const child = this.#child;
		if (!child) return;
		signalGroup(child, signal);
		if (signal === 'SIGSTOP' || signal === 'SIGCONT' || signal === 'SIGTSTP') return;
		await exited(child);
	}

	async restart() {
		await this.stopNow();
		await this.start();
	}

	async stopNow() {
		if (this.#child) await terminate(this.#child);
	}
}

// ------------------------------------------------------------------ the database

/** A NIR key for a throwaway database (the app refuses a real database without one). */
export function throwawayNirKeys(label = 'topology'): string {
	return `${label}:${randomBytes(32).toString('base64')}`;
}

/**
 * Creates the database `name` on the server of `baseUrl` (dropping any previous one), migrates it
 * and loads the demo, in a child process: the app's database handle is a per-process singleton
 * read from the environment, which the caller's process must not be tied to.
 */
export async function createDemoDatabase(baseUrl: string, name: string, nirKeys: string): Promise<string> {
	if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`createDemoDatabase: "${name}" is not a plain database name`);
	const pg = (await import('pg')).default;
	const admin = new pg.Client({ connectionString: baseUrl });
	await admin.connect();
	try {
		await admin.query(`drop database if exists ${name} with (force)`);
		await admin.query(`create database ${name}`);
	} finally {
		await admin.end();
	}
	const url = new URL(baseUrl);
	url.pathname = `/${name}`;
	const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--prepare-database'], {
		cwd: ROOT,
		env: { ...process.env, DATABASE_URL: url.toString(), NIR_KEYS: nirKeys, LOG_LEVEL: 'warn' },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let output = '';
	child.stdout!.on('data', (d) => (output += d));
	child.stderr!.on('data', (d) => (output += d));
	const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
	if (code !== 0) throw new Error(`Preparing the database ${name} failed (${code}):\n${output.slice(-4000)}`);
	return url.toString();
}

/** In the child of createDemoDatabase: DATABASE_URL and NIR_KEYS are set. */
async function prepareDatabaseHere() {
	const { getDb, closeDb } = await import('../src/lib/server/db/index.ts');
	const { migrateToLatest } = await import('../src/lib/server/db/migrate.ts');
	const { seedDemo } = await import('../src/lib/server/demo/seed.ts');
	await migrateToLatest(getDb());
	await seedDemo(getDb());
	await closeDb();
}

// ------------------------------------------------------------------ CLI

async function cli() {
	const databaseUrl = process.env.DATABASE_URL;
	const redisUrl = process.env.REDIS_URL;
	if (!databaseUrl || !redisUrl) {
		console.error(
			'npm run topology needs DATABASE_URL (a PostgreSQL server) and REDIS_URL: the embedded default database ' +
				'(PGlite) is single-process and cannot be shared by several app processes.\n' +
				'Example: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 npm run topology'
		);
		process.exit(1);
	}
	const processes = Number(process.env.TOPOLOGY_PROCESSES || 2);
	const port = Number(process.env.PORT || 3000);
	if (!Number.isInteger(processes) || processes < 1) throw new Error('TOPOLOGY_PROCESSES: a whole number, at least 1');
	if (!existsSync(join(ROOT, SERVER_ENTRY))) {
		console.log('No build yet: npm run build');
		const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
		if (build.status !== 0) process.exit(build.status ?? 1);
	}
	const nirKeys = process.env.NIR_KEYS || throwawayNirKeys();
	console.log('Creating the database msh_topology with the demo...');
	const url = await createDemoDatabase(databaseUrl, 'msh_topology', nirKeys);
	const env: Record<string, string> = { NIR_KEYS: nirKeys };
	const topology = await startTopology({ processes, port, databaseUrl: url, redisUrl, env, logDir: process.env.TOPOLOGY_LOG_DIR });
	console.log(`\nLoad balancer (HAProxy, round-robin, no stickiness): ${topology.url}`);
	for (const b of topology.backends) console.log(`  app process pid ${b.pid} on http://localhost:${b.port}`);
	console.log(`Logs: ${topology.logDir}`);
	const { demoLoginsText } = await import('../src/lib/server/demo/seed.ts');
	console.log(`\n${demoLoginsText()}\n\nCtrl-C stops everything.`);
	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		console.log('\nStopping...');
		await topology.stop();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const run = process.argv.includes('--prepare-database') ? prepareDatabaseHere : cli;
	run().catch((error) => {
		console.error(error instanceof Error ? error.message : error);
		process.exit(1);
	});
}
