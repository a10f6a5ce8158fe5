// The named tasks the render workers run (see pool.ts). Measured on maximal input (bench/render.ts):
// each of these can hold a thread for tens of milliseconds to seconds, so none runs on the event
// loop. Inputs and outputs cross threads by structured clone: plain data, no functions.
import * as Y from 'yjs';
import { project, type PpsProjection } from '../../pps/model.ts';
import { messages, type Locale } from '../../i18n/index.ts';
import { withCockpit } from '../../i18n/cockpit.ts';
import { ppsPdf, type PpsPdfInfo } from '../pps/pdf.ts';
import { fhirBundle } from '../pps/fhir.ts';
import { compteRenduPdf } from '../rcp/report-pdf.ts';
import type { Report } from '../rcp/report.ts';
import { controlFilePdf } from './control-file-pdf.ts';
import type { ControlFile } from '../cockpit/control-file.ts';
import { activityReportPdf } from './activity-report-pdf.ts';
import type { ActivityReport } from '../cockpit/activity-report.ts';

type FhirArgs = Parameters<typeof fhirBundle>;

export const tasks = {
	/**
	 * The PPS as a PDF, from a version's projection (its JSON text, parsed here) or from the live
	 * document's encoded state (projected here: ~20-40 ms for a maximal document).
	 */
	ppsPdf(input: { pps: { json: string } | { update: Uint8Array }; info: PpsPdfInfo; locale: Locale }) {
		let projection: PpsProjection;
		if ('update' in input.pps) {
			const doc = new Y.Doc();
			Y.applyUpdate(doc, input.pps.update);
			projection = project(doc);
			doc.destroy();
		} else projection = JSON.parse(input.pps.json);
		return ppsPdf(projection, input.info, messages(input.locale));
	},

	/** The minutes of a closed RCP as a PDF. */
	minutesPdf(input: { report: Report; locale: Locale }) {
		return compteRenduPdf(input.report, messages(input.locale), input.locale);
	},

	/** A patient's control file (inclusions, consultations, RCP passages, renewals, exit) as a PDF. */
	controlFilePdf(input: { file: ControlFile; locale: Locale }) {
		return controlFilePdf(input.file, withCockpit(input.locale), input.locale);
	},

	/** A network's yearly activity report (figures computed by the caller in SQL) as a PDF with its charts. */
	activityReportPdf(input: { report: ActivityReport; locale: Locale }) {
		return activityReportPdf(input.report, withCockpit(input.locale), input.locale);
	},

	/** A validated version (its projection as JSON text) as a FHIR R4 bundle, serialised (UTF-8 JSON). */
	fhir(input: { patient: FhirArgs[0]; version: { number: number; created_at: Date; json: string }; team: FhirArgs[2]; base: string }) {
		const { number, created_at, json } = input.version;
		return Buffer.from(JSON.stringify(fhirBundle(input.patient, { number, created_at, projection: JSON.parse(json) }, input.team, input.base)));
	}
};

export type Tasks = typeof tasks;
export type TaskName = keyof Tasks;
export type TaskInput<K extends TaskName> = Parameters<Tasks[K]>[0];
