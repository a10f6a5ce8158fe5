import { getDb } from '$lib/server/db';
import { can } from '$lib/server/access/policy';
import { formError, parseForm } from '$lib/server/forms';
import { rcpOf } from '$lib/server/rcp/guard';
import { templateSchema } from '$lib/server/rcp/forms';
import { effectiveTemplate, networkTemplate, DEFAULT_TEMPLATE, removeMicrostructureTemplate, saveTemplate } from '$lib/server/rcp/templates';
import type { RcpTemplateContent } from '$lib/server/db/schema';
import { messages, type Locale } from '$lib/i18n';

export async function load(event) {
	const { ms, ref, actor } = await rcpOf(event);
	const db = getDb();
	const [effective, network] = await Promise.all([effectiveTemplate(db, ref), networkTemplate(db, ref.networkId)]);
	return {
		ms: { id: ms.id, name: ms.name, networkName: ms.network_name },
		template: effective.template,
		source: effective.source,
		network: network ?? DEFAULT_TEMPLATE,
		canEditMs: can(actor, 'rcp.template', { microstructure: ref }),
		canEditNetwork: can(actor, 'network.rcp_template', { networkId: ref.networkId })
	};
}

function toTemplate(form: FormData, locale: Locale) {
	const parsed = parseForm(templateSchema, form, locale);
	if (!parsed.ok) return { ok: false as const, failure: parsed.failure };
	const d = parsed.data;
	const titles = messages('fr').rcp.template.sectionKinds;
	const template: RcpTemplateContent = {
		name: d.name,
		targetMinutes: d.targetMinutes,
		minFrequency: d.minFrequency,
		sections: d.sections.map((kind) => ({ kind, title: titles[kind] })),
		quorumProfessions: d.quorumProfessions,
		optionalInvitees: d.optionalInvitees,
		patientMayAttend: d.patientMayAttend.length > 0,
		minutesPerCase: d.minutesPerCase
	};
	return { ok: true as const, template };
}

export const actions = {
	saveMs: async (event) => {
		const { ref, ctx } = await rcpOf(event, 'rcp.template');
		const parsed = toTemplate(await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		await saveTemplate(getDb(), ctx, { microstructure: ref }, parsed.template);
		return { success: messages(event.locals.locale).rcp.template.saved };
	},
	saveNetwork: async (event) => {
		const { ref, ctx, actor } = await rcpOf(event);
		const t = messages(event.locals.locale);
		if (!can(actor, 'network.rcp_template', { networkId: ref.networkId })) return formError(403, t.errors.forbidden);
		const parsed = toTemplate(await event.request.formData(), event.locals.locale);
		if (!parsed.ok) return parsed.failure;
		await saveTemplate(getDb(), ctx, { networkId: ref.networkId }, parsed.template);
		return { success: t.rcp.template.saved };
	},
	reset: async (event) => {
		const { ref, ctx } = await rcpOf(event, 'rcp.template');
		await removeMicrostructureTemplate(getDb(), ctx, ref);
		return { success: messages(event.locals.locale).rcp.template.resetDone };
	}
};
