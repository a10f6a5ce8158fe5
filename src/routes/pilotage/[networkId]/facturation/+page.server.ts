// Billing for the administrative coordination: the period's packages with their checks (each
// failure with the patient's code and a link to fix it), the export runs (CSV with the NIR,
// correction), the tariffs and who seconds each microstructure's psychologist.
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { cockpitNetwork } from '$lib/server/cockpit/guard';
import { auditContext } from '$lib/server/request';
import { audit } from '$lib/server/audit/audit';
import { choice, formError, id, parseForm } from '$lib/server/forms';
import { calendarDate } from '$lib/server/input';
import { parisToday } from '$lib/server/patients/lifecycle';
import { loadNirKeys } from '$lib/server/patients/nir';
import { consistency, pendingPackages, type Package } from '$lib/server/billing/packages';
import { correctRun, listRuns, runBillingExport, type RunResult } from '$lib/server/billing/runs';
import { gpCents, listTariffs, setFunding, setTariff, tariffSchema } from '$lib/server/billing/tariffs';
import { fill, type Locale } from '$lib/i18n';
import { withCockpit, type WithCockpit } from '$lib/i18n/cockpit';
import type { RequestEvent } from './$types';

/** A billing period is at most this long: a year and a half of packages at most. */
const MAX_PERIOD_DAYS = 550;

function periodSchema(microstructureIds: string[]) {
	return z
		.object({
			from: calendarDate(),
			to: calendarDate(),
			ms: z.array(z.string()).max(500)
		})
		.refine((v) => v.from <= v.to, { path: ['to'], error: 'billing.errors.inverted' })
		.refine((v) => (Date.parse(v.to) - Date.parse(v.from)) / 86_400_000 <= MAX_PERIOD_DAYS, { path: ['to'], error: 'billing.errors.tooLong' })
		.refine((v) => v.ms.every((m) => microstructureIds.includes(m)), { path: ['ms'], error: 'billing.errors.unknownMs' });
}

function translate(locale: Locale, errors: Record<string, string>): Record<string, string> {
	const t = withCockpit(locale).billing.errors as Record<string, string>;
	return Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, v.startsWith('billing.errors.') ? (t[v.slice('billing.errors.'.length)] ?? v) : v]));
}

function defaultPeriod(today: string) {
	return { from: `${today.slice(0, 4)}-01-01`, to: today };
}

async function networkMicrostructures(networkId: string) {
	return getDb().selectFrom('microstructure').select(['id', 'name', 'psychologist_funding']).where('network_id', '=', networkId).where('archived_at', 'is', null).orderBy('name').execute();
}

function summarise(packages: Package[], names: Map<string, string>) {
	const ready = packages.filter((p) => p.failures.length === 0);
	const perMs = new Map<string, { id: string; name: string; ready: number; blocked: number; totalCents: number }>();
	for (const p of packages) {
		const row = perMs.get(p.microstructureId) ?? { id: p.microstructureId, name: names.get(p.microstructureId) ?? '', ready: 0, blocked: 0, totalCents: 0 };
		if (p.failures.length === 0) {
			row.ready++;
			row.totalCents += p.lines.reduce((s, l) => s + l.amountCents, 0);
		} else row.blocked++;
		perMs.set(p.microstructureId, row);
	}
	return {
		ready: ready.length,
		blocked: packages.length - ready.length,
		totalCents: [...perMs.values()].reduce((s, r) => s + r.totalCents, 0),
		consistency: consistency(ready.flatMap((p) => p.lines)),
		perMicrostructure: [...perMs.values()],
		failures: packages
			.filter((p) => p.failures.length > 0)
			.slice(0, 500)
			.map((p) => ({ patientId: p.patientId, code: p.patientCode, microstructureId: p.microstructureId, microstructure: names.get(p.microstructureId) ?? '', kind: p.kind, start: p.start, failures: p.failures }))
	};
}

export async function load(event) {
	const { actor, network } = await cockpitNetwork(event, 'billing.manage');
	const db = getDb();
	const locale = event.locals.locale;
	const today = parisToday();
	const mss = await networkMicrostructures(network.id);
	const names = new Map(mss.map((m) => [m.id, m.name]));
	const params = event.url.searchParams;
	const asked = params.has('from') || params.has('to');
	const raw = asked ? { from: params.get('from') ?? '', to: params.get('to') ?? '', ms: params.getAll('ms') } : { ...defaultPeriod(today), ms: [] };
	const parsed = periodSchema(mss.map((m) => m.id)).safeParse(raw);
	const [tariffs, runs] = await Promise.all([listTariffs(db, network.id), listRuns(db, network.id)]);
	let preview: ReturnType<typeof summarise> | null = null;
	let periodErrors: Record<string, string> = {};
	if (parsed.success) {
		const ids = parsed.data.ms.length ? parsed.data.ms : mss.map((m) => m.id);
		const packages = await pendingPackages(db, { networkId: network.id, from: parsed.data.from, to: parsed.data.to, microstructureIds: ids }, tariffs);
		preview = summarise(packages, names);
		// The checks name patients (by code): a read of patient data.
		await audit(db, { ...auditContext(event), actorId: actor.userId }, { action: 'billing.checked', targetType: 'network', targetId: network.id, networkId: network.id, details: { from: parsed.data.from, to: parsed.data.to, packages: packages.length } });
	} else {
		const errors: Record<string, string> = {};
		for (const issue of parsed.error.issues) errors[String(issue.path[0] ?? 'from')] ??= issue.message.startsWith('billing.') ? issue.message : withCockpit(locale).errors.date;
		periodErrors = translate(locale, errors);
	}
	return {
		today,
		period: { from: String(raw.from).slice(0, 10), to: String(raw.to).slice(0, 10), ms: raw.ms.filter((m) => names.has(m)) },
		periodErrors,
		preview,
		runs,
		tariffs: tariffs.map((t) => ({ ...t, gpCents: gpCents(t) })),
		microstructures: mss
	};
}

async function actionContext(event: RequestEvent) {
	const { user, network } = await cockpitNetwork(event, 'billing.manage');
	return { network, ctx: { ...auditContext(event), actorId: user.id }, t: withCockpit(event.locals.locale), locale: event.locals.locale };
}

function outcome(t: WithCockpit, result: RunResult) {
	if (!result.ok) {
		const message = result.reason === 'nothing' ? t.billing.run.nothing : t.billing.run.inconsistent;
		return formError(result.reason === 'nothing' ? 409 : 422, message);
	}
	return {
		success: fill(t.billing.run.done, { number: result.number, lines: result.lineCount, skipped: result.skipped.length }),
		runId: result.runId
	};
}

export const actions = {
	run: async (event) => {
		const { network, ctx, t, locale } = await actionContext(event);
		const form = await event.request.formData();
		const mss = await networkMicrostructures(network.id);
		const parsed = periodSchema(mss.map((m) => m.id)).safeParse({ from: form.get('from'), to: form.get('to'), ms: form.getAll('ms').filter((v) => typeof v === 'string') });
		if (!parsed.success) {
			const errors: Record<string, string> = {};
			for (const issue of parsed.error.issues) errors[String(issue.path[0] ?? 'from')] ??= issue.message.startsWith('billing.') ? issue.message : t.errors.date;
			return formError(400, t.common.formErrors, {}, translate(locale, errors));
		}
		const ids = parsed.data.ms.length ? parsed.data.ms : mss.map((m) => m.id);
		return outcome(t, await runBillingExport(getDb(), ctx, { networkId: network.id, from: parsed.data.from, to: parsed.data.to, microstructureIds: ids }, loadNirKeys()));
	},
	correct: async (event) => {
		const { network, ctx, t, locale } = await actionContext(event);
		const parsed = parseForm(z.object({ id: id() }), await event.request.formData(), locale);
		if (!parsed.ok) return parsed.failure;
		return outcome(t, await correctRun(getDb(), ctx, network.id, parsed.data.id, loadNirKeys()));
	},
	tariff: async (event) => {
		const { network, ctx, t, locale } = await actionContext(event);
		const form = await event.request.formData();
		const parsed = parseForm(tariffSchema, form, locale);
		if (!parsed.ok) {
			const data = parsed.failure.data;
			return formError(400, t.common.formErrors, data.values, translate(locale, data.errors));
		}
		await setTariff(getDb(), ctx, network.id, parsed.data);
		return { success: t.billing.tariffs.saved };
	},
	funding: async (event) => {
		const { network, ctx, t, locale } = await actionContext(event);
		const parsed = parseForm(z.object({ microstructureId: id(), funding: choice(['ems', 'liberal']) }), await event.request.formData(), locale);
		if (!parsed.ok) return parsed.failure;
		const ok = await setFunding(getDb(), ctx, network.id, parsed.data.microstructureId, parsed.data.funding);
		if (!ok) return formError(404, t.common.notFound);
		return { success: t.billing.funding.saved };
	}
};
