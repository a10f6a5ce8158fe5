// The home page: what each person has to do today. Every section is loaded at once (no waterfall,
// no query per row) and streamed, so a slow or failing section shows its own loading or error state
// without holding back the others. Sections that name patients share one names query, decided by
// the policy and audited (patients/names.ts). New sections (appointments, messages) add one promise
// here and one component in $lib/components/home.
import { getDb } from '$lib/server/db';
import { can, type Actor } from '$lib/server/access/policy';
import { listVisibleMicrostructures } from '$lib/server/org/microstructures';
import { todoForActor } from '$lib/server/patients/patients';
import { parisToday } from '$lib/server/patients/lifecycle';
import { namePatients, type NamedPatient } from '$lib/server/patients/names';
import { recentlyChangedPatients } from '$lib/server/patients/recent';
import { openActionsFor } from '$lib/server/rcp/actions';
import { rcpOverdueCounts, rcpOverview, type OverviewSession } from '$lib/server/rcp/overview';
import { listNotifications } from '$lib/server/notifications/notifications';
import { nameMentionedPatients } from '$lib/server/notifications/mentions';
import { audit } from '$lib/server/audit/audit';
import { auditContext, requireActor } from '$lib/server/request';
import type { TodoKind } from '$lib/server/patients/todo';
import { todayAppointments } from '$lib/server/booking/appointments';

const WEEK_DAYS = 7;
const TODO_SHOWN = 5;
const RECENT_SHOWN = 6;
const NOTIFICATIONS_SHOWN = 5;

const COORDINATION_ROLES = new Set(['coordination_medicale', 'coordination_administrative']);

export async function load(event) {
	const { user, actor } = requireActor(event);
	const db = getDb();
	const ctx = auditContext(event);
	const now = new Date();
	const today = parisToday();
	const visible = await listVisibleMicrostructures(db, actor);
	const refs = visible.map((m) => ({ id: m.id, networkId: m.network_id }));
	const msName = new Map(visible.map((m) => [m.id, m.name]));
	const roleIn = (id: string) => actor.microstructures.find((m) => m.id === id)?.role;
	const readable = visible.filter((m) => can(actor, 'patient.read', { microstructure: { id: m.id, networkId: m.network_id } }));

	// Who gets which panel; what each panel shows is still decided by the policy.
	const include =
		user.profession === 'medecin_generaliste'
			? visible.filter((m) => roleIn(m.id) === 'soignant' && can(actor, 'patient.write', { microstructure: { id: m.id, networkId: m.network_id } }))
			: [];
	const secretariat = visible.filter((m) => roleIn(m.id) === 'secretariat' && can(actor, 'rcp.schedule.read', { microstructure: { id: m.id, networkId: m.network_id } }));
	const coordinated = readable.filter((m) => roleIn(m.id) === 'coordination' || coordinatesNetwork(actor, m.network_id));

	const rcp = rcpOverview(db, actor, now, new Date(now.getTime() + WEEK_DAYS * 86400_000));
	const todo = todoForActor(db, actor, refs, today);
	const actions = openActionsFor(db, actor);
	const recent = recentlyChangedPatients(db, actor, refs, RECENT_SHOWN);
	const notifications = listNotifications(db, user.id, NOTIFICATIONS_SHOWN);
	const overdue = rcpOverdueCounts(db, coordinated.map((m) => m.id), today);
	// Today's appointments: one's own as a professional, the microstructure's for the secretariat.
	const bookingAgendas = visible.filter((m) => roleIn(m.id) === 'secretariat' && can(actor, 'booking.read', { microstructure: { id: m.id, networkId: m.network_id } }));
	const holdsPermanences = ['psychologue', 'travailleur_social', 'psychiatre'].includes(user.profession);
	const appointments = holdsPermanences || bookingAgendas.length ? todayAppointments(db, ctx, actor, now) : null;

	// The names the home page shows, read once for all its sections (and audited once).
	const named = Promise.all([todo, recent]).then(async ([items, changes]) => {
		if (readable.length) await audit(db, ctx, { action: 'patient.todo', targetType: 'user', targetId: actor.userId, details: { count: items.length, purpose: 'home' } });
		return namePatients(db, ctx, actor, [...items.slice(0, TODO_SHOWN).map((i) => i.patientId), ...changes.map((c) => c.patientId)], 'home');
	});
	const patientOf = (names: Map<string, NamedPatient>, id: string, msId: string, code: string) => {
		const p = names.get(id);
		return { href: `/ms/${msId}/patients/${id}`, code: p?.code ?? code, name: p?.name ?? null };
	};

	const todoSummary = Promise.all([todo, actions, named]).then(([items, rcpActions, names]) => {
		const counts = new Map<TodoKind, number>();
		for (const i of items) counts.set(i.kind, (counts.get(i.kind) ?? 0) + 1);
		return {
			total: items.length + rcpActions.length,
			counts: [...counts].map(([kind, n]) => ({ kind, n })),
			actions: rcpActions.length,
			first: items.slice(0, TODO_SHOWN).map((i) => ({
				key: `${i.patientId}:${i.kind}`,
				kind: i.kind,
				date: i.date,
				microstructure: msName.get(i.microstructureId) ?? '',
				patient: patientOf(names, i.patientId, i.microstructureId, i.code)
			}))
		};
	});

	const recentPatients = Promise.all([recent, named]).then(([changes, names]) =>
		changes
			.filter((c) => names.has(c.patientId))
			.map((c) => ({
				kind: c.kind,
				occurredOn: c.occurredOn,
				microstructure: msName.get(c.microstructureId) ?? '',
				patient: patientOf(names, c.patientId, c.microstructureId, '')
			}))
	);

	const recentNotifications = notifications.then((rows) => nameMentionedPatients(db, ctx, actor, rows, 'home_notifications'));

	const coordination = coordinated.length
		? Promise.all([rcp, todo, overdue]).then(([sessions, items, late]) =>
				coordinated.map((m) => ({
					id: m.id,
					name: m.name,
					live: sessions.filter((s): s is Extract<OverviewSession, { access: 'team' }> => s.microstructureId === m.id && s.live && s.access === 'team').map((s) => ({ id: s.id, title: s.title })),
					renewals: items.filter((i) => i.microstructureId === m.id && (i.kind === 'renewal_overdue' || i.kind === 'renewal_due')).length,
					firstContacts: items.filter((i) => i.microstructureId === m.id && i.kind === 'no_first_contact').length,
					rcpOverdue: late.get(m.id) ?? 0
				}))
			)
		: null;

	return {
		today,
		canReadPatients: readable.length > 0,
		include: include.map((m) => ({ id: m.id, name: m.name })),
		secretariat: secretariat.map((m) => ({ id: m.id, name: m.name })),
		rcp,
		todo: todoSummary,
		recent: recentPatients,
		notifications: recentNotifications,
		coordination,
		appointments: appointments?.then((rows) =>
			rows.map((r) => ({ ...r, bookHref: can(actor, 'booking.book', { microstructure: { id: r.microstructureId, networkId: actor.microstructures.find((m) => m.id === r.microstructureId)?.networkId ?? '' } }) ? `/ms/${r.microstructureId}/rendez-vous/patient/${r.patientId}` : null }))
		) ?? null,
		bookingAgendas: bookingAgendas.map((m) => ({ id: m.id, name: m.name })),
		holdsPermanences
	};
}

function coordinatesNetwork(actor: Actor, networkId: string): boolean {
	return actor.networks.some((n) => n.id === networkId && COORDINATION_ROLES.has(n.role));
}
