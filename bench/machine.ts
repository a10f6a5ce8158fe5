// What the benchmarks read about this machine from /proc: CPU seconds of a process, of the
// PostgreSQL backends serving one database, of the whole machine, and waiting for it to be quiet.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const CLK_TCK = (() => {
	try {
		return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
	} catch {
		return 100;
	}
})();

/** utime + stime of a process, in seconds (0 if it is gone). */
export function cpuSeconds(pid: number): number {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // fields 14 and 15 of proc(5)
	} catch {
		return 0;
	}
}

/** CPU seconds of the PostgreSQL backends serving `database` (its autovacuum workers included), by pid. */
export function postgresCpu(database: string): Map<number, number> {
	const result = new Map<number, number>();
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			if (!readFileSync(`/proc/${entry}/stat`, 'utf8').includes('(postgres)')) continue;
			// "postgres: 15/main: postgres <database> 127.0.0.1(port) idle", "…: autovacuum worker <database>", NUL-padded
			const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
			if (title.includes(` ${database} `)) result.set(Number(entry), cpuSeconds(Number(entry)));
		} catch {
			// gone meanwhile
		}
	}
	return result;
}

export function postgresCpuDelta(before: Map<number, number>, after: Map<number, number>): number {
	let total = 0;
	for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
	return total;
}

/** CPU seconds the whole machine spent busy (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
	const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
	const [user, nice, system, , , irq, softirq, steal] = fields;
	return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

/**
 * CPU seconds that processes spent running (user, nice and system time of all cores): unlike
 * machineBusySeconds, without interrupt handling (the loopback traffic of a benchmark lands there,
 * charged to no process) and time stolen by the hypervisor.
 */
export function processesBusySeconds(): number {
	const [user, nice, system] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 4).map(Number);
	return (user + nice + system) / CLK_TCK;
}

/**
 * Other work on the machine skews everything here (2 cores): waits, within a bound, until less
 * than a quarter of a core is busy, and says so. Returns the last busy figure (% of a core).
 */
export async function waitForQuietMachine(label: string, maxWaitMs: number): Promise<number> {
	const prefix = label ? `${label}: ` : '';
	const deadline = performance.now() + maxWaitMs;
	for (;;) {
		const b0 = machineBusySeconds();
		await new Promise((r) => setTimeout(r, 1000));
		const busy = 100 * (machineBusySeconds() - b0);
		if (busy < 25) return busy;
		if (performance.now() > deadline) {
			console.log(`${prefix}the machine is still busy (${busy.toFixed(0)}% of a core used by other processes); measuring anyway`);
			return busy;
		}
		console.log(`${prefix}waiting for other processes to finish (${busy.toFixed(0)}% of a core busy)…`);
		await new Promise((r) => setTimeout(r, 4000));
	}
}

/** A line of /proc/<pid>/status in kB (VmRSS, VmHWM). */
export function statusKb(pid: number, key: string): number {
	try {
		const line = readFileSync(`/proc/${pid}/status`, 'utf8')
			.split('\n')
			.find((l) => l.startsWith(`${key}:`));
		return line ? Number(line.split(/\s+/)[1]) : 0;
	} catch {
		return 0;
	}
}

/** Pids of the processes whose name (comm) is `name`, and whose command line holds `argument` if given. */
export function pidsNamed(name: string, argument?: string): number[] {
	const pids: number[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== name) continue;
			if (argument && !readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(argument)) continue;
			pids.push(Number(entry));
		} catch {
			// gone meanwhile
		}
	}
	return pids;
}

/** Threads runnable right now on the whole machine (procs_running of /proc/stat, this reader included). */
export function runnableThreads(): number {
	const line = readFileSync('/proc/stat', 'utf8')
		.split('\n')
		.find((l) => l.startsWith('procs_running '));
	return line ? Number(line.split(' ')[1]) : NaN;
}
