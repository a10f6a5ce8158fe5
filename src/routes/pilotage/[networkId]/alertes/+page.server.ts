// The network's drift alerts: open ones by microstructure (why, what to do, acknowledge), those
// acknowledged, those resolved lately, and the thresholds. Coordinators of the network only
// ('cockpit.alerts'); nothing here names a patient (the alerts hold counts and dates).
import { z } from 'zod';
import { getDb } from '$lib/server/db';
import { cockpitNetwork } from '$lib/server/cockpit/guard';
import { acknowledgeAlert, detectAlerts, getThresholds, listAlerts, saveThresholds, thresholdSchema, THRESHOLDS } from '$lib/server/cockpit/alerts';
import { formError, id, parseForm } from '$lib/server/forms';
import { auditContext } from '$lib/server/request';
import { fill } from '$lib/i18n';
import { withCockpit } from '$lib/i18n/cockpit';

export async function load(event) {
	const { network } = await cockpitNetwork(event, 'cockpit.alerts');
	const db = getDb();
	const [alerts, thresholds] = await Promise.all([listAlerts(db, network.id), getThresholds(db, network.id)]);
	return { alerts, thresholds, limits: THRESHOLDS };
}

const idSchema = z.object({ id: id() });

export const actions = {
	acknowledge: async (event) => {
		const { user, network } = await cockpitNetwork(event, 'cockpit.alerts');
		const t = withCockpit(event.locals.locale).alerts;
		const parsed = parseForm(idSchema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return formError(404, t.notFound);
		const r = await acknowledgeAlert(getDb(), { ...auditContext(event), actorId: user.id }, network.id, parsed.data.id);
		if (!r.ok) return formError(r.reason === 'already' ? 409 : 404, r.reason === 'already' ? t.alreadyAcknowledged : t.notFound);
		return { success: t.acknowledged };
	},
	check: async (event) => {
		const { network } = await cockpitNetwork(event, 'cockpit.alerts');
		const t = withCockpit(event.locals.locale).alerts;
		const r = await detectAlerts(getDb(), { networkId: network.id });
		return { success: fill(t.checked, { raised: r.raised, resolved: r.resolved }) };
	},
	thresholds: async (event) => {
		const { user, network } = await cockpitNetwork(event, 'cockpit.alerts');
		const t = withCockpit(event.locals.locale).alerts;
		const schema = thresholdSchema((key) => fill(t.thresholds.range, { min: THRESHOLDS[key].min, max: THRESHOLDS[key].max }));
		const parsed = parseForm(schema, await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		const db = getDb();
		await saveThresholds(db, { ...auditContext(event), actorId: user.id }, network.id, parsed.data);
		// The new thresholds show at once: alerts no longer due resolve, new ones are raised.
		await detectAlerts(db, { networkId: network.id });
		return { success: t.thresholds.saved, thresholdsSaved: true };
	}
};
