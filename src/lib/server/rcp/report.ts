// The compte-rendu of a closed RCP, written by the tool from what happened in the session:
// attendance, duration, and per case the decision, actions, validated PPS version and notes.
// Its PDF is rendered off the event loop (report-pdf.ts, through src/lib/server/render).
import type { Db } from '../db/index.ts';
import type { RcpSession } from '../db/schema.ts';
import type { Locale } from '../../i18n/index.ts';
import { liveState, stateForGuest, type LiveState } from './live.ts';
import { sessionWhen } from '../../rcp/format.ts';

export interface Report {
	title: string;
	microstructure: string;
	when: string;
	closedAt: Date | null;
	durationMinutes: number | null;
	state: LiveState;
}

export async function compteRendu(db: Db, session: RcpSession, microstructure: string, locale: Locale, guestItems: string[] | null): Promise<Report> {
	const full = (await liveState(db, session.id))!;
	const state = guestItems === null ? full : stateForGuest(full, guestItems);
	const duration = session.started_at && session.closed_at ? Math.round((session.closed_at.getTime() - session.started_at.getTime()) / 60000) : null;
	return { title: session.title, microstructure, when: sessionWhen(session.starts_at, session.ends_at, locale), closedAt: session.closed_at, durationMinutes: duration, state };
}
