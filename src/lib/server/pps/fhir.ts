// A validated PPS version as a FHIR R4 bundle (CarePlan + Goals + CareTeam). Runs in a render
// worker (src/lib/server/render): plain relative imports only.
import type { Patient } from '../db/schema.ts';
import type { PpsProjection } from '../../pps/model.ts';

const FHIR_STATUS: Record<string, string> = { a_faire: 'not-started', en_cours: 'in-progress', fait: 'completed', abandonne: 'cancelled' };

/** A FHIR R4 bundle (CarePlan + Goals + CareTeam) for one validated version. */
export function fhirBundle(
	patient: Pick<Patient, 'id' | 'code'>,
	version: { number: number; created_at: Date; projection: PpsProjection },
	team: { id: string; first_name: string; last_name: string; profession: string }[],
	base: string
) {
	const p = version.projection;
	const goals = [
		...(p.goals ? [{ id: 'goal-patient', text: p.goals, note: 'Objectifs du patient, dans ses mots' }] : []),
		...p.objectives.map((o) => ({ id: `goal-${o.id}`, text: o.text, note: o.domain }))
	];
	const patientRef = { reference: `Patient/${patient.id}`, display: patient.code };
	const name = (id: string) => {
		const m = team.find((t) => t.id === id);
		return m ? `${m.first_name} ${m.last_name}` : id;
	};
	return {
		resourceType: 'Bundle',
		type: 'collection',
		timestamp: version.created_at.toISOString(),
		entry: [
			{
				fullUrl: `${base}/CarePlan/pps-${patient.id}-v${version.number}`,
				resource: {
					resourceType: 'CarePlan',
					id: `pps-${patient.id}-v${version.number}`,
					status: 'active',
					intent: 'plan',
					title: `Plan personnalisé de santé — version ${version.number}`,
					subject: patientRef,
					created: version.created_at.toISOString(),
					...(p.reviewDate ? { period: { end: p.reviewDate } } : {}),
					careTeam: [{ reference: `#careteam` }],
					...(p.coordinator ? { author: { display: name(p.coordinator) } } : {}),
					goal: goals.map((g) => ({ reference: `Goal/${g.id}` })),
					addresses: [],
					note: [
						...p.problems.map((pr) => ({ text: `Besoin (${pr.domain}) : ${pr.text}` })),
						...(p.crisis ? [{ text: `En cas de difficulté : ${p.crisis}` }] : []),
						...(p.evaluation ? [{ text: `Critères d'évaluation : ${p.evaluation}` }] : []),
						...p.entretiens.map((e) => ({ text: `Entretiens : ${name(e.professional)} — ${e.frequency}` }))
					],
					activity: p.actions.map((a) => ({
						detail: {
							status: FHIR_STATUS[a.status] ?? 'not-started',
							description: a.what,
							...(a.due ? { scheduledString: a.due } : {}),
							...(a.owner ? { performer: [{ display: name(a.owner) }] } : {})
						}
					})),
					contained: [
						{
							resourceType: 'CareTeam',
							id: 'careteam',
							subject: patientRef,
							participant: team.map((m) => ({ role: [{ text: m.profession }], member: { display: `${m.first_name} ${m.last_name}` } }))
						}
					]
				}
			},
			...goals.map((g) => ({
				fullUrl: `${base}/Goal/${g.id}`,
				resource: { resourceType: 'Goal', id: g.id, lifecycleStatus: 'active', description: { text: g.text }, subject: patientRef, note: g.note ? [{ text: g.note }] : [] }
			}))
		]
	};
}
