// What the RCP overview (/rcp, the home page) shows of each session, shared by the server that
// builds it (server/rcp/overview.ts) and the components that draw it.
type Status = 'planifiee' | 'en_cours' | 'cloturee' | 'annulee';

export interface Common {
	id: string;
	microstructureId: string;
	microstructure: string;
	title: string;
	startsAt: Date;
	endsAt: Date;
	status: Status;
	live: boolean;
	room: string | null;
	visioUrl: string | null;
}

/** A session the actor takes part in. */
export interface TeamSession extends Common {
	access: 'team';
	cases: number;
	pending: number;
	quorumMet: boolean;
	/** Professions the quorum still misses. */
	missing: string[];
	/** People connected to a live session, null before it starts. */
	connected: number | null;
	/** Microstructures of the actor's other RCPs at the same time. */
	clashes: string[];
}

/** A session whose schedule alone the actor may read. */
export interface ScheduleSession extends Common {
	access: 'schedule';
}

export type OverviewSession = TeamSession | ScheduleSession;
