// Database types, declared in one place. Conventions (see db/index.ts): uuid and text are strings,
// bigserial ids are strings, timestamptz is a Date, a SQL date is a 'YYYY-MM-DD' string.
import type { ColumnType, Generated, GeneratedAlways, Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type CreatedAt = ColumnType<Date, never, never>;

export type Programme = 'MSMA' | 'MSPC';
export type Profession =
	| 'medecin_generaliste'
	| 'psychologue'
	| 'travailleur_social'
	| 'psychiatre'
	| 'infirmier'
	| 'coordinateur_medical'
	| 'coordinateur_administratif'
	| 'secretariat'
	| 'autre';
export type MicrostructureRole = 'soignant' | 'coordination' | 'secretariat';
export type NetworkRole = 'coordination_medicale' | 'coordination_administrative' | 'admin';
export type MembershipRole = MicrostructureRole | NetworkRole;
export type PsychologistFunding = 'ems' | 'liberal';

export interface NetworkTable {
	id: Generated<string>;
	name: string;
	territory: Generated<string>;
	created_at: Generated<Date>;
}

export interface MicrostructureTable {
	id: Generated<string>;
	network_id: string;
	name: string;
	programmes: Programme[];
	practice_kind: Generated<'cabinet' | 'msp' | 'centre_de_sante'>;
	city: Generated<string>;
	created_at: Generated<Date>;
	archived_at: Date | null;
	/** Who seconds the psychologist: the specialised centre (EMS, code 18N27A1) or a private psychologist (18N27B1 + 18N27B2). */
	psychologist_funding: Generated<PsychologistFunding>;
}

export interface SiteTable {
	id: Generated<string>;
	microstructure_id: string;
	name: string;
	address: Generated<string>;
	postal_code: Generated<string>;
	city: Generated<string>;
	/** The number patients call to cancel (printed in reminders). */
	phone: Generated<string>;
}

export interface RoomTable {
	id: Generated<string>;
	site_id: string;
	name: string;
	archived_at: Date | null;
}

export interface AppUserTable {
	id: Generated<string>;
	email: string;
	first_name: string;
	last_name: string;
	profession: Profession;
	rpps: string | null;
	adeli: string | null;
	password_hash: string;
	totp_key: Uint8Array | null;
	/** The last TOTP time step accepted (int8, read as a string): a code works once. */
	totp_last_step: ColumnType<string | null, string | null | undefined, string | null>;
	locale: Generated<'fr' | 'en'>;
	platform_admin: Generated<boolean>;
	created_at: Generated<Date>;
	disabled_at: Date | null;
	/** Quiet hours, Paris wall clock ('HH:MM:SS'); a start after the end spans midnight. */
	quiet_start: string | null;
	quiet_end: string | null;
	message_email_delay_minutes: Generated<number>;
}

export interface RecoveryCodeTable {
	id: Generated<string>;
	user_id: string;
	code_hash: string;
	used_at: Date | null;
}

export interface UserSessionTable {
	id: string;
	user_id: string;
	expires_at: Timestamp;
	two_factor_verified: Generated<boolean>;
	created_at: Generated<Date>;
	ip: string | null;
	user_agent: string | null;
	/** The session proved the account's e-mail: it may enrol a first second factor. */
	enrolment_allowed: Generated<boolean>;
}

/** Attempt counters of the sign-in throttles (auth/throttle.ts). */
export interface AuthThrottleTable {
	key: string;
	scope: string;
	attempts: number;
	window_start: Date;
	blocked_until: Date | null;
	strikes: Generated<number>;
	last_at: Date;
	allowed: boolean;
	armed: Generated<boolean>;
}

/** A browser where the user has signed in (hash of its device cookie's token). */
export interface TrustedDeviceTable {
	token_hash: string;
	user_id: string;
	created_at: Generated<Date>;
	last_used_at: Generated<Date>;
}

/** A one-time code proving the e-mail before a first second factor is enrolled. */
export interface EnrolmentCodeTable {
	id: Generated<string>;
	user_id: string;
	session_id: string | null;
	code_hash: string;
	created_by: string | null;
	created_at: Generated<Date>;
	expires_at: Timestamp;
	used_at: Date | null;
}

export interface MembershipTable {
	id: Generated<string>;
	user_id: string;
	microstructure_id: string | null;
	network_id: string | null;
	role: MembershipRole;
	starts_on: ColumnType<string, string | undefined, string>;
	ends_on: string | null;
	created_at: Generated<Date>;
	created_by: string | null;
	ended_by: string | null;
}

export interface InvitationTable {
	id: Generated<string>;
	token_hash: string;
	email: string;
	first_name: Generated<string>;
	last_name: Generated<string>;
	profession: Generated<Profession>;
	microstructure_id: string | null;
	network_id: string | null;
	role: MembershipRole;
	invited_by: string;
	created_at: Generated<Date>;
	expires_at: Timestamp;
	accepted_at: Date | null;
	accepted_by: string | null;
	revoked_at: Date | null;
}

export interface AuditEventTable {
	id: Generated<string>;
	at: CreatedAt;
	actor_id: string | null;
	action: string;
	target_type: Generated<string>;
	target_id: Generated<string>;
	microstructure_id: string | null;
	network_id: string | null;
	ip: string | null;
	user_agent: string | null;
	details: ColumnType<Record<string, unknown>, string | undefined, never>;
}

export interface YjsUpdateTable {
	id: Generated<string>;
	doc_name: string;
	update: Uint8Array;
	created_at: Generated<Date>;
}

export type PatientState = 'oriente' | 'inclus' | 'en_suivi' | 'sorti' | 'transfere';
export type Motif = 'addiction' | 'precarite' | 'sante_mentale';
export type OrientationOrigin = 'medecin_ms' | 'csapa' | 'autre_medecin' | 'hopital' | 'autre';
export type Orientation = 'psychologue' | 'travailleur_social' | 'les_deux';
export type InsStatus = 'provisoire' | 'recuperee' | 'validee' | 'qualifiee';
export type ExitReason = 'amelioration' | 'souhait_patient' | 'reorientation' | 'perdu_de_vue' | 'demenagement' | 'deces' | 'autre';
export type ConsentMethod = 'formulaire_signe' | 'oral_atteste';
export type NirStatus = 'fourni' | 'refuse' | 'provisoire' | 'regime_particulier';

export interface PatientTable {
	id: Generated<string>;
	microstructure_id: string;
	code: string;
	last_name: string | null;
	first_name: string | null;
	birth_date: string | null;
	sex: 'F' | 'M' | 'X' | null;
	phone: string | null;
	email: string | null;
	programme: Programme;
	motif: Motif | null;
	orientation_origin: OrientationOrigin | null;
	orientation: Orientation | null;
	medecin_traitant: string | null;
	ins_status: Generated<InsStatus>;
	state: PatientState;
	oriented_on: string | null;
	included_on: string | null;
	renewal_due_on: string | null;
	first_contact_on: string | null;
	last_contact_on: string | null;
	exited_on: string | null;
	exit_reason: ExitReason | null;
	consent_on: string | null;
	consent_method: ConsentMethod | null;
	consent_attested_by: string | null;
	transferred_from: string | null;
	created_by: string | null;
	created_at: Generated<Date>;
	updated_at: Generated<Date>;
	version: Generated<number>;
	anonymised_at: Date | null;
	/** Computed by the database (`patient_name_key`): the name folded for duplicate matching and search. */
	last_name_key: GeneratedAlways<string | null>;
	first_name_key: GeneratedAlways<string | null>;
	/** The patient agreed to appointment reminders by e-mail / SMS. */
	reminder_email: Generated<boolean>;
	reminder_sms: Generated<boolean>;
}

export interface PatientEventTable {
	id: Generated<string>;
	patient_id: string;
	kind: string;
	occurred_on: string;
	recorded_by: string | null;
	recorded_at: Generated<Date>;
	details: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface PatientTeamMemberTable {
	patient_id: string;
	user_id: string;
}

export interface PatientPartnerTable {
	id: Generated<string>;
	patient_id: string;
	name: string;
	role: string;
	contact: Generated<string>;
}

export interface ConsentDocumentTable {
	id: Generated<string>;
	patient_id: string;
	filename: string;
	content_type: string;
	content: Uint8Array;
	uploaded_by: string | null;
	uploaded_at: Generated<Date>;
}

export interface PatientNirTable {
	patient_id: string;
	status: NirStatus;
	ciphertext: Uint8Array | null;
	key_id: string | null;
	/** HMAC-SHA-256 of the NIR under a key derived from `key_id`'s (nir.ts): equal NIRs, equal indexes. */
	nir_index: Uint8Array | null;
	updated_by: string | null;
	updated_at: Generated<Date>;
}

export interface PpsTable {
	patient_id: string;
	projection: ColumnType<Record<string, unknown>, string, string>;
	updated_at: Generated<Date>;
}

export interface PpsVersionTable {
	id: Generated<string>;
	patient_id: string;
	number: number;
	snapshot: Uint8Array;
	projection: ColumnType<Record<string, unknown>, string, never>;
	created_by: string | null;
	created_at: Generated<Date>;
	rcp_id: string | null;
}


export type RcpSectionKind = 'cas' | 'organisation_pec' | 'organisation_ms';
export type RcpFrequency = 'hebdomadaire' | 'bimensuelle' | 'mensuelle' | 'bimestrielle' | 'trimestrielle';
export type RcpStatus = 'planifiee' | 'en_cours' | 'cloturee' | 'annulee';
export type RcpDecision = 'poursuite' | 'adaptation_pps' | 'renouvellement' | 'fin_de_suivi' | 'reorientation' | 'a_revoir';
export type Attendance = 'present' | 'distance' | 'excuse' | 'absent';
export type Rsvp = 'oui' | 'non' | 'peut_etre';

export interface RcpSection {
	kind: RcpSectionKind;
	title: string;
}

/** A template's content, as stored on the template and copied onto each session. */
export interface RcpTemplateContent {
	name: string;
	targetMinutes: number;
	minFrequency: RcpFrequency;
	sections: RcpSection[];
	quorumProfessions: Profession[];
	optionalInvitees: string;
	patientMayAttend: boolean;
	minutesPerCase: number;
}

export interface RcpReason {
	code: 'never_discussed' | 'not_discussed_90' | 'renewal_due' | 'no_first_contact' | 'no_show' | 'flagged' | 'carried_over' | 'a_revoir' | 'manual';
	date?: string | null;
	question?: string;
}

export interface RcpTemplateTable {
	id: Generated<string>;
	network_id: string | null;
	microstructure_id: string | null;
	name: string;
	target_minutes: number;
	min_frequency: RcpFrequency;
	sections: ColumnType<RcpSection[], string, string>;
	quorum_professions: Profession[];
	optional_invitees: Generated<string>;
	patient_may_attend: Generated<boolean>;
	minutes_per_case: number;
	updated_by: string | null;
	updated_at: Generated<Date>;
}

export interface RcpSeriesTable {
	id: Generated<string>;
	microstructure_id: string;
	title: string;
	rrule: string;
	starts_on: string;
	until_on: string | null;
	start_time: string;
	end_time: string;
	room_id: string | null;
	visio_url: string | null;
	programme: Programme | null;
	created_by: string | null;
	created_at: Generated<Date>;
	ended_at: Date | null;
}

export interface RcpSessionTable {
	id: Generated<string>;
	microstructure_id: string;
	series_id: string | null;
	title: string;
	starts_at: Date;
	ends_at: Date;
	room_id: string | null;
	visio_url: string | null;
	programme: Programme | null;
	status: Generated<RcpStatus>;
	template: ColumnType<RcpTemplateContent, string, string>;
	agenda_built_at: Date | null;
	animator_id: string | null;
	pointer_item_id: string | null;
	pointer_since: Date | null;
	started_at: Date | null;
	closed_at: Date | null;
	closed_by: string | null;
	created_by: string | null;
	created_at: Generated<Date>;
	/** For a session of a series moved to another time: the occurrence it stands for. */
	occurrence_at: Date | null;
}

export interface RcpParticipantTable {
	session_id: string;
	user_id: string;
	kind: Generated<'membre' | 'invite'>;
	item_ids: Generated<string[]>;
	rsvp: Rsvp | null;
	attendance: Attendance | null;
	attendance_set_by: string | null;
	/** Seconds connected to the live session as a participant, cumulated across reconnections. */
	present_seconds: Generated<number>;
	/** When one of their participant connections was last seen (null: none open). */
	seen_at: Date | null;
	seen_place: 'present' | 'distance' | null;
	/** Connected as a participant when a decision was taken. */
	at_decision: Generated<boolean>;
}

export interface RcpItemTable {
	id: Generated<string>;
	session_id: string;
	kind: RcpSectionKind;
	patient_id: string | null;
	title: string | null;
	reasons: ColumnType<RcpReason[], string | undefined, string>;
	position: number;
	discussed_seconds: Generated<number>;
	decision: RcpDecision | null;
	decision_details: ColumnType<Record<string, unknown>, string | undefined, string>;
	decided_by: string | null;
	decided_at: Date | null;
	pps_version: number | null;
	minutes_notes: string | null;
	carried_to: string | null;
	added_by: string | null;
}

export interface RcpPrepNoteTable {
	item_id: string;
	author_id: string;
	profession: string;
	body: string;
	updated_at: Generated<Date>;
}

export interface RcpFlagTable {
	id: Generated<string>;
	patient_id: string;
	question: string;
	flagged_by: string;
	flagged_at: Generated<Date>;
	handled_item_id: string | null;
}

export interface RcpActionTable {
	id: Generated<string>;
	item_id: string;
	patient_id: string;
	what: string;
	owner_id: string;
	due_on: string | null;
	done_at: Date | null;
	done_by: string | null;
	created_by: string | null;
	created_at: Generated<Date>;
}

export interface RcpPassageTable {
	patient_id: string;
	session_id: string;
	on_date: string;
	decision: RcpDecision;
}

export interface NotificationTable {
	id: Generated<string>;
	user_id: string;
	kind: string;
	title: string;
	body: Generated<string>;
	link: string | null;
	created_at: Generated<Date>;
	read_at: Date | null;
}

/** A request about a patient: to join its care team ('access'), to transfer it ('transfer'); throttled per person. */
export interface PatientRequestTable {
	kind: 'access' | 'transfer';
	patient_id: string;
	user_id: string;
	requested_at: Generated<Date>;
	resolved_at: Date | null;
	resolved_by: string | null;
	details: ColumnType<Record<string, unknown>, string | undefined, string>;
}

// Booking (migration 0008): see its header for the invariants the database holds.
export type AppointmentKind = 'premier_contact' | 'suivi';
export type AppointmentStatus = 'prevu' | 'venu' | 'excuse' | 'absent' | 'annule' | 'deplace';
export type CancelReason = 'patient' | 'professionnel' | 'absence' | 'autre';
export type AbsenceReason = 'conges' | 'maladie' | 'formation' | 'autre';
export type OccurrenceCancelReason = 'absence' | 'serie_modifiee' | 'serie_terminee' | 'annulee';
export type DayPeriod = 'matin' | 'apres_midi';

export interface ProgrammeBudgetTable {
	programme: Programme;
	profession: Profession;
	per_year: number;
}

export interface PermanenceTable {
	id: Generated<string>;
	microstructure_id: string;
	professional_id: string;
	room_id: string | null;
	/** ISO weekday, 1 = Monday. */
	weekday: number;
	every_weeks: 1 | 2;
	starts_on: string;
	ends_on: string | null;
	/** Paris wall-clock 'HH:MM:SS'. */
	start_time: string;
	end_time: string;
	first_minutes: number;
	followup_minutes: number;
	previous_id: string | null;
	created_by: string | null;
	created_at: Generated<Date>;
}

export interface AbsenceTable {
	id: Generated<string>;
	professional_id: string;
	starts_on: string;
	ends_on: string;
	reason: AbsenceReason;
	note: Generated<string>;
	created_by: string | null;
	created_at: Generated<Date>;
	cancelled_at: Date | null;
}

export interface PermanenceOccurrenceTable {
	id: Generated<string>;
	permanence_id: string;
	microstructure_id: string;
	professional_id: string;
	room_id: string | null;
	on_date: string;
	starts_at: Date;
	ends_at: Date;
	during: GeneratedAlways<string>;
	cancelled_at: Date | null;
	cancel_reason: OccurrenceCancelReason | null;
	absence_id: string | null;
}

export interface AppointmentTable {
	id: Generated<string>;
	microstructure_id: string;
	patient_id: string;
	professional_id: string;
	profession: Profession;
	occurrence_id: string;
	room_id: string | null;
	kind: AppointmentKind;
	starts_at: Date;
	ends_at: Date;
	during: GeneratedAlways<string>;
	status: Generated<AppointmentStatus>;
	booked_by: string;
	booked_at: Generated<Date>;
	request_key: string;
	refills_id: string | null;
	moved_to: string | null;
	cancelled_at: Date | null;
	cancelled_by: string | null;
	cancel_reason: CancelReason | null;
	cancel_note: Generated<string>;
	late_cancel: Generated<boolean>;
	attendance_marked_at: Date | null;
	attendance_marked_by: string | null;
}

export interface WaitingEntryTable {
	id: Generated<string>;
	microstructure_id: string;
	patient_id: string;
	profession: Profession;
	kind: AppointmentKind;
	weekdays: Generated<number[]>;
	periods: Generated<DayPeriod[]>;
	note: Generated<string>;
	created_by: string | null;
	created_at: Generated<Date>;
	resolved_at: Date | null;
	resolved_by: string | null;
	appointment_id: string | null;
	removed_at: Date | null;
}

export interface AppointmentReminderTable {
	id: Generated<string>;
	appointment_id: string;
	channel: 'email' | 'sms';
	kind: 'j_moins_2' | 'matin';
	due_at: Date;
	status: Generated<'prevu' | 'envoye' | 'annule' | 'non_envoye'>;
	sent_at: Date | null;
	attempts: Generated<number>;
	last_error: string | null;
}

export interface CalendarFeedTable {
	id: Generated<string>;
	user_id: string;
	token_hash: Uint8Array;
	created_at: Generated<Date>;
	revoked_at: Date | null;
	last_used_at: Date | null;
}

export interface Database {
	network: NetworkTable;
	microstructure: MicrostructureTable;
	site: SiteTable;
	room: RoomTable;
	app_user: AppUserTable;
	recovery_code: RecoveryCodeTable;
	user_session: UserSessionTable;
	auth_throttle: AuthThrottleTable;
	trusted_device: TrustedDeviceTable;
	enrolment_code: EnrolmentCodeTable;
	membership: MembershipTable;
	invitation: InvitationTable;
	audit_event: AuditEventTable;
	yjs_update: YjsUpdateTable;
	patient: PatientTable;
	patient_event: PatientEventTable;
	patient_team_member: PatientTeamMemberTable;
	patient_partner: PatientPartnerTable;
	consent_document: ConsentDocumentTable;
	patient_nir: PatientNirTable;
	patient_request: PatientRequestTable;
	pps: PpsTable;
	pps_version: PpsVersionTable;
	rcp_template: RcpTemplateTable;
	rcp_series: RcpSeriesTable;
	rcp_session: RcpSessionTable;
	rcp_participant: RcpParticipantTable;
	rcp_item: RcpItemTable;
	rcp_prep_note: RcpPrepNoteTable;
	rcp_flag: RcpFlagTable;
	rcp_action: RcpActionTable;
	rcp_passage: RcpPassageTable;
	notification: NotificationTable;
	programme_budget: ProgrammeBudgetTable;
	permanence: PermanenceTable;
	absence: AbsenceTable;
	permanence_occurrence: PermanenceOccurrenceTable;
	appointment: AppointmentTable;
	waiting_entry: WaitingEntryTable;
	appointment_reminder: AppointmentReminderTable;
	calendar_feed: CalendarFeedTable;
	conversation: ConversationTable;
	conversation_member: ConversationMemberTable;
	message: MessageTable;
	message_attachment: MessageAttachmentTable;
	conversation_read: ConversationReadTable;
	push_subscription: PushSubscriptionTable;
	app_setting: AppSettingTable;
	message_email_due: MessageEmailDueTable;
	billing_tariff: BillingTariffTable;
	billing_run: BillingRunTable;
	billing_line: BillingLineTable;
	drift_alert: DriftAlertTable;
	alert_threshold: AlertThresholdTable;
}

export type ConversationKind = 'patient' | 'team' | 'direct' | 'group';

export interface ConversationTable {
	id: Generated<string>;
	kind: ConversationKind;
	microstructure_id: string | null;
	patient_id: string | null;
	direct_key: string | null;
	title: Generated<string>;
	created_by: string | null;
	created_at: Generated<Date>;
	/** int8, read as a string. */
	last_seq: ColumnType<string, string | number | undefined, string | number>;
	last_message_at: Date | null;
}

export interface ConversationMemberTable {
	conversation_id: string;
	user_id: string;
	added_at: Generated<Date>;
}

export interface MessageLink {
	type: 'rcp_report' | 'pps_version';
	id: string;
}

export interface MessageTable {
	id: Generated<string>;
	conversation_id: string;
	/** int8, read as a string. */
	seq: ColumnType<string, string | number, string | number>;
	sender_id: string;
	client_id: string;
	body: Generated<string>;
	link: ColumnType<MessageLink | null, string | null | undefined, string | null>;
	mentions: Generated<string[]>;
	created_at: Generated<Date>;
	edited_at: Date | null;
	deleted_at: Date | null;
	search: ColumnType<string, never, never>;
}

export interface MessageAttachmentTable {
	id: Generated<string>;
	message_id: string;
	conversation_id: string;
	kind: 'file' | 'image' | 'voice';
	filename: string;
	content_type: string;
	size: number;
	content: Uint8Array;
	thumbnail: Uint8Array | null;
	duration_ms: number | null;
	created_at: Generated<Date>;
}

export interface ConversationReadTable {
	conversation_id: string;
	user_id: string;
	/** int8, read as a string. */
	last_read_seq: ColumnType<string, string | number | undefined, string | number>;
	read_at: Generated<Date>;
}

export interface PushSubscriptionTable {
	id: Generated<string>;
	user_id: string;
	endpoint: string;
	p256dh: string;
	auth: string;
	created_at: Generated<Date>;
}

export interface AppSettingTable {
	key: string;
	value: string;
}

export interface MessageEmailDueTable {
	user_id: string;
	due_at: Date;
	created_at: Generated<Date>;
}

export type RcpSession = Selectable<RcpSessionTable>;
export type RcpItem = Selectable<RcpItemTable>;

export type User = Selectable<AppUserTable>;
export type Membership = Selectable<MembershipTable>;
export type Microstructure = Selectable<MicrostructureTable>;
export type Network = Selectable<NetworkTable>;
export type NewAuditEvent = Insertable<AuditEventTable>;
export type Patient = Selectable<PatientTable>;

// Cockpit and billing (migration 0011).
export type BillingCode = '18N27A1' | '18N27B1' | '18N27B2' | '18N27C1';
export type PackageKind = 'include' | 'reinclude' | 'renew';

export interface BillingTariffTable {
	network_id: string;
	programme: Programme;
	valid_from: string;
	total_cents: number;
	psychologist_cents: number;
	social_worker_cents: number;
	admin_coordination_cents: number;
	medical_coordination_cents: number;
	updated_by: string | null;
	updated_at: Generated<Date>;
}

export interface BillingRunTable {
	id: Generated<string>;
	network_id: string;
	number: number;
	period_from: string;
	period_to: string;
	microstructure_ids: string[];
	corrects_run_id: string | null;
	created_by: string;
	created_at: Generated<Date>;
	line_count: Generated<number>;
	/** bigint, read as a string. */
	total_cents: ColumnType<string, string | number | undefined, string | number>;
}

export interface BillingLineTable {
	id: Generated<string>;
	run_id: string;
	patient_event_id: string;
	patient_id: string;
	microstructure_id: string;
	programme: Programme;
	package_kind: PackageKind;
	package_start: string;
	code: BillingCode;
	amount_cents: number;
	voided_by_run: string | null;
}

export interface DriftAlertTable {
	id: Generated<string>;
	microstructure_id: string;
	network_id: string;
	kind: string;
	period_key: string;
	details: ColumnType<Record<string, unknown>, string | undefined, string>;
	raised_at: Generated<Date>;
	resolved_at: Date | null;
	acknowledged_at: Date | null;
	acknowledged_by: string | null;
}

export interface AlertThresholdTable {
	network_id: string;
	settings: ColumnType<Record<string, unknown>, string | undefined, string>;
	updated_by: string | null;
	updated_at: Generated<Date>;
}
