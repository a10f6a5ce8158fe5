// The demo patients' PPS: real plans, written the way a team writes them. Each patient gets a story
// (alcohol, cannabis, opioids under TSO, crack, the street, debts; long Covid, anxiety after the
// lockdowns, grief, a carer's burn-out) told through the PPS document model (pps/model.ts): the
// patient's goals and the crisis plan as Tiptap rich text, problems and negotiated objectives by
// domain, actions given to members of the care team with due dates and statuses, the rhythm of
// sessions, evaluation criteria, review date and the plan's coordinator.
//
// A plan is a list of dated edits (first plan after the first contact, follow-up adjustments, recent
// changes) applied to one Y.Doc, so the versions validated at past RCPs are earlier states of the
// same document and "Comparer" shows what changed. Deterministic: each patient's choices come from
// a generator seeded by who they are, whatever order they are read in.
import * as Y from 'yjs';
import type { Db } from '../db/index.ts';
import type { Motif, Orientation, PatientState, Programme } from '../db/schema.ts';
import { addDays } from '../patients/lifecycle.ts';
import { appendUpdate } from '../realtime/yjs-store.ts';
import { ppsDocName, saveProjection } from '../pps/pps.ts';
import { fieldText, list, meta, newItem, project, type ActionStatus, type Domain, type PpsProjection } from '../../pps/model.ts';
import { prng } from './patients.ts';

/** Who does what in a plan: the GP, the psychologist, the social worker. */
export type Role = 'gp' | 'psy' | 'ts';
type Line = [Domain, string];
interface ActionSpec {
	what: string;
	owner: Role;
	/** Days after the edit that writes it. */
	due: number;
}
/** A rich-text block: a paragraph, or a bullet list. */
type Block = string | string[];

interface Theme {
	/** The patient's goals, in their words (first person). */
	goals: Block[];
	crisis: Block[];
	problems: Line[];
	objectives: Line[];
	actions: ActionSpec[];
	/** Added at the follow-up, a few months later. */
	later: { objectives: Line[]; actions: ActionSpec[] };
	/** Actions an RCP decides for this kind of case. */
	rcp: ActionSpec[];
	evaluation: string;
	/** Case notes as they read in RCP minutes. */
	notes: string[];
	/** Who coordinates the plan, when they are in the team (else the GP). */
	coordinator?: Role;
	/** Rhythm of sessions by role, when it differs from the usual one. */
	rhythm?: Partial<Record<Role, string>>;
}

const ADDICTION_CRISIS_TAIL = ['Idées suicidaires : 3114 (numéro national de prévention du suicide, jour et nuit)', 'Urgence vitale : 15'];

const THEMES: Record<string, Theme> = {
	alcool: {
		goals: [
			'Ce que je veux, avec mes mots :',
			['Ne plus boire le matin, pour tenir au travail', 'Dormir sans avoir besoin d’un verre', 'Que mes enfants ne me voient plus ivre', 'Reprendre le vélo le dimanche']
		],
		crisis: [
			'Signes d’alerte repérés ensemble :',
			['Reprise de l’alcool dès le réveil', 'Tremblements, sueurs, nuits sans sommeil', 'Ne répond plus au téléphone pendant plusieurs jours'],
			'Que faire :',
			['Appeler le cabinet et demander un rendez-vous dans la journée', 'Ne pas arrêter brutalement sans avis médical : risque de sevrage grave', 'Alcool Info Service : 0 980 980 930 (7 jours sur 7, anonyme)', ...ADDICTION_CRISIS_TAIL]
		],
		problems: [
			['sante_addiction', 'Consommation d’environ 8 verres standard par jour, dont le matin (AUDIT à 24).'],
			['sante_addiction', 'GGT élevées, stéatose hépatique à l’échographie.'],
			['psychologique', 'Anxiété et culpabilité autour de la consommation, humeur basse le soir.'],
			['relationnel', 'Tensions dans le couple, amis perdus de vue depuis la perte d’emploi.']
		],
		objectives: [
			['sante_addiction', 'Réduire à 2 verres par jour au plus, aucun le matin, d’ici trois mois.'],
			['psychologique', 'Repérer les situations à risque et trouver d’autres réponses que l’alcool.'],
			['relationnel', 'Retrouver des moments partagés en famille sans alcool.']
		],
		actions: [
			{ what: 'Bilan biologique : NFS, GGT, ASAT/ALAT, CDT', owner: 'gp', due: 10 },
			{ what: 'Prescrire la vitamine B1 et discuter un traitement de réduction (nalméfène ou baclofène)', owner: 'gp', due: 21 },
			{ what: 'Entretiens motivationnels : balance décisionnelle, agenda de consommation', owner: 'psy', due: 30 },
			{ what: 'Échographie hépatique et FibroScan', owner: 'gp', due: 60 }
		],
		later: {
			objectives: [['relationnel', 'Reprendre une activité hors de la maison (club de marche du quartier).']],
			actions: [
				{ what: 'Contrôler GGT et CDT à trois mois', owner: 'gp', due: 30 },
				{ what: 'Prévention de la rechute : plan pour les fins de semaine', owner: 'psy', due: 45 }
			]
		},
		rcp: [
			{ what: 'Revoir en consultation avec le bilan hépatique', owner: 'gp', due: 21 },
			{ what: 'Entretien de suivi d’ici deux semaines', owner: 'psy', due: 15 },
			{ what: 'Point sur le maintien dans l’emploi avec la médecine du travail', owner: 'ts', due: 30 }
		],
		evaluation: 'Agenda de consommation (verres par jour, jours sans alcool), GGT et CDT à trois mois, qualité du sommeil, maintien dans l’emploi.',
		notes: [
			'Consommation passée de 8 à 3 verres par jour ; plus d’alcool le matin depuis cinq semaines. GGT en baisse. Sommeil encore fragile.',
			'Brève rechute après un conflit familial, rendez-vous repris sans relance. Pas de signe de sevrage. Envisage l’arrêt complet.',
			'Bonne alliance avec la psychologue, agenda de consommation tenu. FibroScan normal, à recontrôler dans un an.'
		]
	},
	cannabis: {
		goals: ['Ce que je veux :', ['Arrêter de fumer le soir pour retrouver le sommeil', 'Retrouver un emploi', 'Qu’il y ait moins de disputes à la maison']],
		crisis: [
			'Signes d’alerte :',
			['Consommation dès le matin, rendez-vous manqués', 'Repli sur soi, idées noires'],
			'Que faire :',
			['En parler au prochain rendez-vous ou appeler le cabinet', 'Drogues Info Service : 0 800 23 13 13 (gratuit, anonyme)', ...ADDICTION_CRISIS_TAIL]
		],
		problems: [
			['sante_addiction', 'Usage quotidien de cannabis (8 à 10 joints par jour) depuis l’adolescence ; CAST à 5 sur 6.'],
			['psychologique', 'Endormissement difficile, anxiété en groupe.'],
			['emploi_ressources', 'Sans emploi depuis deux ans, au RSA.'],
			['famille_parentalite', 'Conflits de couple autour de la consommation, deux enfants à la maison.']
		],
		objectives: [
			['sante_addiction', 'Diminuer à un joint le soir, puis arrêter.'],
			['psychologique', 'Retrouver un rythme de sommeil régulier.'],
			['emploi_ressources', 'Construire un projet professionnel avec France Travail.']
		],
		actions: [
			{ what: 'Entretiens motivationnels puis TCC centrée sur le sommeil', owner: 'psy', due: 21 },
			{ what: 'Consultation sommeil : hygiène de vie, pas d’hypnotique', owner: 'gp', due: 14 },
			{ what: 'Rendez-vous France Travail et atelier de remobilisation', owner: 'ts', due: 30 },
			{ what: 'Proposer un avis au CSAPA si l’arrêt n’avance pas', owner: 'gp', due: 45 }
		],
		later: {
			objectives: [['relationnel', 'Renouer avec une activité sportive en club.']],
			actions: [
				{ what: 'Entretien de couple', owner: 'psy', due: 30 },
				{ what: 'Dossier d’entrée en formation qualifiante', owner: 'ts', due: 45 }
			]
		},
		rcp: [
			{ what: 'Entretien de suivi d’ici deux semaines', owner: 'psy', due: 15 },
			{ what: 'Point avec le conseiller France Travail', owner: 'ts', due: 21 },
			{ what: 'Consultation de suivi : sommeil et consommation', owner: 'gp', due: 30 }
		],
		evaluation: 'Nombre de joints par jour (auto-relevé), heures de sommeil, assiduité en formation, climat familial rapporté.',
		notes: [
			'Passé de 10 à 3 joints par jour, plus de consommation le matin. Sommeil meilleur. Entrée en formation prévue le mois prochain.',
			'Consommation stable mais tensions de couple vives ; entretien de couple proposé et accepté.',
			'Formation qualifiante financée. Arrêt du cannabis en semaine, reste un usage le week-end.'
		]
	},
	opioides: {
		goals: ['Ce que je veux :', ['Stabiliser mon traitement et ne plus acheter dans la rue', 'Avoir un logement à moi', 'Revoir mon fils un week-end sur deux']],
		crisis: [
			'Signes d’alerte :',
			['Manque (douleurs, sueurs, insomnie), achat d’héroïne', 'Retour à l’injection', 'Perte ou vol du traitement'],
			'Que faire :',
			[
				'Appeler le cabinet : un rendez-vous le jour même est possible pour adapter la dose',
				'Garder sur soi le kit de naloxone ; l’entourage sait l’utiliser',
				'Somnolence, respiration lente : naloxone puis 15',
				'La pharmacie de délivrance est prévenue de la conduite à tenir en cas de perte d’ordonnance'
			]
		],
		problems: [
			['sante_addiction', 'Dépendance aux opioïdes, buprénorphine 8 mg par jour, mésusage injecté par moments.'],
			['sante_addiction', 'Hépatite C connue, jamais traitée.'],
			['logement', 'Hébergement chez un ami, sans bail, situation précaire.'],
			['droits', 'Droits à l’assurance maladie interrompus, pas de complémentaire.']
		],
		objectives: [
			['sante_addiction', 'Stabiliser la posologie, plus d’injection.'],
			['sante_addiction', 'Traiter l’hépatite C.'],
			['droits', 'Rétablir les droits (complémentaire santé solidaire).'],
			['logement', 'Obtenir un hébergement stable.']
		],
		actions: [
			{ what: 'Ajuster la buprénorphine, délivrance hebdomadaire en pharmacie', owner: 'gp', due: 7 },
			{ what: 'Remettre un kit de naloxone et expliquer son usage à l’entourage', owner: 'gp', due: 7 },
			{ what: 'Bilan VHC (charge virale, FibroScan) puis traitement antiviral', owner: 'gp', due: 45 },
			{ what: 'Dossier de complémentaire santé solidaire', owner: 'ts', due: 21 },
			{ what: 'Demande d’hébergement au SIAO', owner: 'ts', due: 30 }
		],
		later: {
			objectives: [['famille_parentalite', 'Préparer l’audience devant le juge aux affaires familiales pour le droit de visite.']],
			actions: [
				{ what: 'Contrôler la charge virale VHC douze semaines après le traitement', owner: 'gp', due: 90 },
				{ what: 'Relancer le SIAO et préparer l’entretien d’entrée en résidence sociale', owner: 'ts', due: 30 },
				{ what: 'Entretiens : parentalité et reprise de contact avec l’enfant', owner: 'psy', due: 30 }
			]
		},
		rcp: [
			{ what: 'Passer la délivrance à quatorze jours si les délivrances restent régulières', owner: 'gp', due: 28 },
			{ what: 'Accompagner à l’entretien SIAO', owner: 'ts', due: 21 },
			{ what: 'Entretien de suivi d’ici deux semaines', owner: 'psy', due: 15 }
		],
		evaluation: 'Absence d’injection rapportée, délivrances honorées en pharmacie, charge virale VHC indétectable, droits ouverts, hébergement obtenu.',
		notes: [
			'Plus d’injection depuis deux mois, délivrances honorées chaque semaine. Traitement VHC débuté. Droits CSS ouverts.',
			'Une reprise d’héroïne après une expulsion de l’hébergement ; dose réajustée à 12 mg. Demande SIAO relancée.',
			'Entretien SIAO prévu pour une résidence sociale. Premier week-end avec l’enfant prévu avec l’accord de l’autre parent.'
		],
		rhythm: { gp: 'Chaque semaine le premier mois, puis tous les quinze jours (renouvellement du traitement).' }
	},
	crack: {
		goals: ['Ce que je veux :', ['Arrêter le crack', 'Rembourser mes dettes', 'Retrouver un travail en cuisine']],
		crisis: [
			'Signes d’alerte :',
			['Envie intense de consommer le jour de la paie', 'Plusieurs nuits sans dormir, méfiance envers tout le monde'],
			'Que faire :',
			['Douleur dans la poitrine après une consommation : appeler le 15 immédiatement', 'Appeler le cabinet ou la psychologue', 'CAARUD pour le matériel de réduction des risques', 'Drogues Info Service : 0 800 23 13 13', 'Idées suicidaires : 3114']
		],
		problems: [
			['sante_addiction', 'Cocaïne basée (crack) fumée trois à quatre jours par semaine.'],
			['emploi_ressources', 'Dettes auprès de proches, découvert bancaire permanent.'],
			['psychologique', 'Impulsivité, sommeil très perturbé.'],
			['justice', 'Convocation au tribunal pour un vol (audience dans deux mois).']
		],
		objectives: [
			['sante_addiction', 'Espacer les consommations, aucune les jours de travail.'],
			['emploi_ressources', 'Mettre en place un budget et un plan de remboursement.'],
			['justice', 'Se présenter à l’audience avec une attestation de suivi.']
		],
		actions: [
			{ what: 'ECG et bilan cardiovasculaire', owner: 'gp', due: 14 },
			{ what: 'TCC : gestion du craving, plan pour les jours de paie', owner: 'psy', due: 21 },
			{ what: 'Dossier de surendettement à la Banque de France', owner: 'ts', due: 45 },
			{ what: 'Contacter l’avocat commis d’office, remettre l’attestation de suivi', owner: 'ts', due: 30 }
		],
		later: {
			objectives: [['emploi_ressources', 'Reprendre un emploi à temps partiel en restauration.']],
			actions: [
				{ what: 'Rendez-vous France Travail : offres en restauration collective', owner: 'ts', due: 30 },
				{ what: 'Évaluer un traitement de l’impulsivité avec un avis psychiatrique', owner: 'gp', due: 45 }
			]
		},
		rcp: [
			{ what: 'Rédiger l’attestation de suivi pour l’audience', owner: 'gp', due: 14 },
			{ what: 'Entretien de suivi d’ici deux semaines', owner: 'psy', due: 15 },
			{ what: 'Suivre la recevabilité du dossier de surendettement', owner: 'ts', due: 45 }
		],
		evaluation: 'Jours de consommation par semaine, paies sans consommation, plan de remboursement respecté, présence à l’audience.',
		notes: [
			'Consommations espacées (un jour par semaine), aucune les jours de travail depuis un mois. Dossier de surendettement déclaré recevable.',
			'Audience renvoyée de deux mois ; l’avocat demande une attestation de suivi. Motivation bonne.',
			'Rechute après la paie ; plan des jours de paie revu avec la psychologue (argent confié à un proche).'
		]
	},
	rue: {
		goals: ['Ce que je veux :', ['Un endroit où dormir au chaud avant l’hiver', 'Récupérer mes papiers', 'Soigner mes pieds']],
		crisis: [
			'Signes d’alerte :',
			['Nuits dehors par grand froid', 'Plaies qui s’infectent, fièvre', 'Alcoolisation massive'],
			'Que faire :',
			['115 pour une place d’hébergement d’urgence', 'Accueil de jour : douche, repas, soins infirmiers', 'Venir au cabinet sans rendez-vous le matin', 'Urgence vitale : 15']
		],
		problems: [
			['logement', 'Sans hébergement stable : nuits à la rue ou au 115.'],
			['droits', 'Pas de domiciliation, carte Vitale et pièce d’identité perdues.'],
			['sante_addiction', 'Consommation quotidienne de bière forte ; plaies des pieds ; diabète non suivi.']
		],
		objectives: [
			['logement', 'Hébergement stable (CHRS) avant l’hiver.'],
			['droits', 'Domiciliation, carte d’identité et droits à l’assurance maladie.'],
			['sante_addiction', 'Soigner les plaies et reprendre le suivi du diabète.']
		],
		actions: [
			{ what: 'Domiciliation au CCAS', owner: 'ts', due: 14 },
			{ what: 'Demande d’hébergement d’insertion au SIAO', owner: 'ts', due: 21 },
			{ what: 'Soins des plaies avec l’infirmière du quartier', owner: 'gp', due: 7 },
			{ what: 'Bilan du diabète (HbA1c) et renouvellement du traitement', owner: 'gp', due: 21 }
		],
		later: {
			objectives: [['sante_addiction', 'Réduire la consommation d’alcool une fois hébergé·e.']],
			actions: [
				{ what: 'Demande de carte d’identité (rendez-vous en mairie)', owner: 'ts', due: 30 },
				{ what: 'Consultation podologue (diabète)', owner: 'gp', due: 45 }
			]
		},
		rcp: [
			{ what: 'Relancer le SIAO pour une place en CHRS', owner: 'ts', due: 14 },
			{ what: 'Revoir les plaies et l’HbA1c', owner: 'gp', due: 30 }
		],
		evaluation: 'Nuits hébergées par semaine, droits ouverts, cicatrisation des plaies, HbA1c.',
		notes: [
			'Hébergement en hôtel social en attendant une place en CHRS ; droits rouverts. Plaies cicatrisées, alcool en baisse.',
			'Toujours au 115, demande SIAO en attente. Vient chaque semaine au cabinet pour les pansements.',
			'Domiciliation faite, carte Vitale refaite. HbA1c à 8,9 % : traitement adapté.'
		],
		coordinator: 'ts'
	},
	dettes: {
		goals: ['Ce que je veux :', ['Ne plus avoir peur d’ouvrir le courrier', 'Garder notre appartement', 'Que les enfants partent en vacances cet été']],
		crisis: [
			'Signes d’alerte :',
			['Courrier d’huissier ou date d’expulsion', 'Plus d’électricité ou de chauffage', 'Épuisement, pleurs, idées noires'],
			'Que faire :',
			['Appeler le travailleur social du cabinet dès réception d’un courrier', 'Idées suicidaires : 3114', 'Urgence : 15']
		],
		problems: [
			['emploi_ressources', 'RSA et allocations familiales, dettes de loyer et d’énergie.'],
			['logement', 'Procédure d’expulsion engagée (commandement de payer).'],
			['famille_parentalite', 'Famille monoparentale, deux enfants de 6 et 9 ans.'],
			['psychologique', 'Épuisement, troubles du sommeil, somnifères depuis un an.']
		],
		objectives: [
			['logement', 'Suspendre la procédure d’expulsion et maintenir le logement.'],
			['emploi_ressources', 'Plan d’apurement de la dette et budget tenable.'],
			['psychologique', 'Retrouver du sommeil sans somnifère.']
		],
		actions: [
			{ what: 'Dossier FSL pour la dette de loyer', owner: 'ts', due: 14 },
			{ what: 'Contacter le bailleur : proposition de plan d’apurement', owner: 'ts', due: 21 },
			{ what: 'Soutien psychologique : épuisement et sommeil', owner: 'psy', due: 21 },
			{ what: 'Évaluer une dépression (PHQ-9), plan d’arrêt progressif des somnifères', owner: 'gp', due: 30 }
		],
		later: {
			objectives: [['famille_parentalite', 'Un séjour de vacances pour les enfants (aide de la CAF).']],
			actions: [
				{ what: 'Demande d’aide aux vacances familiales (CAF)', owner: 'ts', due: 45 },
				{ what: 'Point sur le sevrage des somnifères', owner: 'gp', due: 30 }
			]
		},
		rcp: [
			{ what: 'Point budget : échéances du plan d’apurement', owner: 'ts', due: 30 },
			{ what: 'Entretien de suivi d’ici deux semaines', owner: 'psy', due: 15 }
		],
		evaluation: 'Procédure d’expulsion suspendue, échéances du plan tenues, heures de sommeil, somnifères arrêtés.',
		notes: [
			'FSL accordé, procédure d’expulsion suspendue. Sommeil meilleur, somnifère pris une nuit sur deux.',
			'Plan d’apurement signé avec le bailleur. Épuisement encore marqué : entretiens rapprochés.',
			'Vacances des enfants financées. Somnifères arrêtés depuis trois semaines.'
		],
		coordinator: 'ts'
	},
	covid_long: {
		goals: ['Ce que je veux :', ['Retrouver assez d’énergie pour reprendre le travail', 'Marcher une demi-heure sans m’arrêter', 'Pouvoir lire un livre en entier']],
		crisis: [
			'Signes d’alerte :',
			['Épuisement durable après un effort (malaise post-effort)', 'Découragement, idées noires'],
			'Que faire :',
			['Fractionner les activités, ne pas forcer les jours de fatigue', 'Essoufflement nouveau ou douleur thoracique : appeler le cabinet, le 15 en cas d’urgence', 'Idées suicidaires : 3114']
		],
		problems: [
			['sante_addiction', 'Fatigue persistante et essoufflement plus d’un an après une Covid.'],
			['psychologique', 'Troubles de la concentration et de la mémoire, anxiété.'],
			['emploi_ressources', 'Arrêt de travail depuis six mois, crainte de perdre l’emploi.'],
			['relationnel', 'Isolement, sorties rares.']
		],
		objectives: [
			['sante_addiction', 'Réentraînement progressif à l’effort.'],
			['emploi_ressources', 'Reprise en temps partiel thérapeutique.'],
			['psychologique', 'Gérer l’anxiété et adapter le rythme des activités.']
		],
		actions: [
			{ what: 'Bilan : épreuves fonctionnelles respiratoires, échographie cardiaque, TSH', owner: 'gp', due: 30 },
			{ what: 'Prescrire une kinésithérapie de réentraînement adapté', owner: 'gp', due: 14 },
			{ what: 'Entretiens : anxiété, acceptation, rythme des activités', owner: 'psy', due: 21 },
			{ what: 'Visite de pré-reprise avec la médecine du travail', owner: 'ts', due: 45 }
		],
		later: {
			objectives: [['relationnel', 'Reprendre une activité de groupe (chorale, atelier).']],
			actions: [
				{ what: 'Adresser à la consultation post-Covid du CHU', owner: 'gp', due: 30 },
				{ what: 'Demande de temps partiel thérapeutique à l’employeur et à la CPAM', owner: 'ts', due: 30 }
			]
		},
		rcp: [
			{ what: 'Consultation de suivi avec le compte rendu de la consultation post-Covid', owner: 'gp', due: 30 },
			{ what: 'Entretien de suivi d’ici deux semaines', owner: 'psy', due: 15 },
			{ what: 'Préparer la reprise avec la médecine du travail', owner: 'ts', due: 30 }
		],
		evaluation: 'Distance de marche, échelle de fatigue (FSS), reprise du travail, anxiété (GAD-7).',
		notes: [
			'Marche 20 minutes sans pause. Kinésithérapie bien tolérée. Reprise à mi-temps thérapeutique envisagée le mois prochain.',
			'Malaise post-effort après une reprise trop rapide ; rythme revu. Anxiété en baisse (GAD-7 à 9).',
			'Reprise à mi-temps depuis trois semaines, fatigue le soir mais tenable.'
		]
	},
	anxiete: {
		goals: ['Ce que je veux :', ['Faire mes courses sans avoir peur', 'Revoir mes amis', 'Dormir sans médicament']],
		crisis: [
			'Signes d’alerte :',
			['Attaques de panique répétées, ne sort plus', 'Alcool ou anxiolytiques en plus de la prescription'],
			'Que faire :',
			['Exercice de respiration appris avec la psychologue', 'Appeler le cabinet pour un rendez-vous rapide', 'Idées suicidaires : 3114']
		],
		problems: [
			['psychologique', 'Attaques de panique depuis les confinements, évitement des lieux publics.'],
			['sante_addiction', 'Alprazolam depuis deux ans, alcool le soir en hausse.'],
			['relationnel', 'Télétravail complet, presque plus de contacts.']
		],
		objectives: [
			['psychologique', 'Ressortir seul·e : courses, transports, puis rencontres.'],
			['sante_addiction', 'Arrêter l’alprazolam progressivement en trois mois.'],
			['relationnel', 'Un jour de présence au bureau par semaine.']
		],
		actions: [
			{ what: 'TCC : exposition progressive (courses, tram)', owner: 'psy', due: 21 },
			{ what: 'Plan de décroissance de l’alprazolam', owner: 'gp', due: 14 },
			{ what: 'Présenter le groupe d’entraide mutuelle (GEM) du quartier', owner: 'ts', due: 30 }
		],
		later: {
			objectives: [['emploi_ressources', 'Négocier avec l’employeur un retour partiel sur site.']],
			actions: [
				{ what: 'Point sur la consommation d’alcool le soir (AUDIT-C)', owner: 'gp', due: 30 },
				{ what: 'Exposition : trajet en tram aux heures de pointe', owner: 'psy', due: 30 }
			]
		},
		rcp: [
			{ what: 'Entretien de suivi d’ici deux semaines', owner: 'psy', due: 15 },
			{ what: 'Consultation : étape suivante de la décroissance', owner: 'gp', due: 28 }
		],
		evaluation: 'Fréquence des attaques de panique, sorties seul·e par semaine, dose d’alprazolam, consommation d’alcool.',
		notes: [
			'Fait les courses seul·e depuis trois semaines. Alprazolam réduit de moitié. Plus d’alcool en semaine.',
			'Une attaque de panique au travail, reprise de l’évitement ; exposition reprise plus progressivement.',
			'Alprazolam arrêté. Participe au GEM une fois par semaine.'
		],
		coordinator: 'psy'
	},
	deuil: {
		goals: ['Ce que je veux :', ['Pouvoir parler de ma mère sans m’effondrer', 'Reprendre le travail', 'Continuer à m’occuper de mon père sans m’épuiser']],
		crisis: [
			'Signes d’alerte :',
			['Ne plus s’alimenter, ne plus sortir du lit', 'Idées de rejoindre la personne disparue'],
			'Que faire :',
			['Appeler la psychologue ou le cabinet', '3114 (prévention du suicide), jour et nuit', 'Urgence : 15']
		],
		problems: [
			['psychologique', 'Deuil compliqué : décès de la mère en EHPAD pendant la pandémie, sans avoir pu lui dire au revoir.'],
			['sante_addiction', 'Perte de 7 kg en six mois, insomnie.'],
			['famille_parentalite', 'Aidant·e principal·e du père âgé, devenu dépendant.']
		],
		objectives: [
			['psychologique', 'Accompagner le deuil, retrouver des moments de répit.'],
			['sante_addiction', 'Reprendre du poids, dormir six heures par nuit.'],
			['famille_parentalite', 'Partager l’aide au père (aide à domicile, répit).']
		],
		actions: [
			{ what: 'Accompagnement du deuil : entretiens hebdomadaires', owner: 'psy', due: 14 },
			{ what: 'Suivi du poids et du sommeil, discuter un antidépresseur', owner: 'gp', due: 21 },
			{ what: 'Demande d’APA pour le père et contact avec la plateforme de répit', owner: 'ts', due: 30 }
		],
		later: {
			objectives: [['emploi_ressources', 'Reprise du travail à temps partiel.']],
			actions: [{ what: 'Groupe de parole pour personnes endeuillées', owner: 'psy', due: 30 }]
		},
		rcp: [
			{ what: 'Entretien de suivi d’ici deux semaines', owner: 'psy', due: 15 },
			{ what: 'Revoir le poids et l’efficacité de l’antidépresseur', owner: 'gp', due: 30 }
		],
		evaluation: 'Poids, sommeil, échelle de deuil (ICG), temps de répit par semaine.',
		notes: [
			'Parle de sa mère avec moins de détresse. Poids stabilisé. APA accordée pour le père.',
			'Date anniversaire difficile, entretiens rapprochés. Antidépresseur bien toléré.',
			'Reprise du travail à 50 %. Participe au groupe de parole.'
		],
		coordinator: 'psy'
	},
	epuisement: {
		goals: ['Ce que je veux :', ['Ne plus pleurer avant d’aller au travail', 'Décider si je reste à l’hôpital', 'Retrouver du temps pour moi']],
		crisis: [
			'Signes d’alerte :',
			['Alcool chaque soir pour « décompresser »', 'Idées noires, sentiment d’inutilité'],
			'Que faire :',
			['Appeler le cabinet, une consultation le jour même est possible', 'Soignants en difficulté : association SPS, 0 805 23 23 36', 'Idées suicidaires : 3114']
		],
		problems: [
			['psychologique', 'Épuisement professionnel après les vagues de Covid (aide-soignant·e en réanimation).'],
			['sante_addiction', 'Alcool chaque soir, trois à quatre verres.'],
			['emploi_ressources', 'Arrêt de travail, conflit avec l’encadrement.']
		],
		objectives: [
			['psychologique', 'Récupérer, puis construire un projet professionnel.'],
			['sante_addiction', 'Pas d’alcool en semaine.'],
			['emploi_ressources', 'Reprise adaptée ou reconversion.']
		],
		actions: [
			{ what: 'Arrêt de travail et lien avec la médecine du travail', owner: 'gp', due: 7 },
			{ what: 'Entretiens : épuisement, limites, projet professionnel', owner: 'psy', due: 21 },
			{ what: 'Information sur le bilan de compétences et le CPF', owner: 'ts', due: 45 }
		],
		later: {
			objectives: [['relationnel', 'Reprendre le sport avec des collègues de l’ancien service.']],
			actions: [{ what: 'Dossier de bilan de compétences', owner: 'ts', due: 30 }]
		},
		rcp: [
			{ what: 'Consultation avant la fin de l’arrêt de travail', owner: 'gp', due: 21 },
			{ what: 'Entretien de suivi d’ici deux semaines', owner: 'psy', due: 15 }
		],
		evaluation: 'Échelle d’épuisement (MBI), verres par semaine, projet professionnel formulé.',
		notes: [
			'Meilleure récupération, plus d’alcool en semaine. Envisage un poste en consultation externe.',
			'Reprise prévue sur un poste aménagé, visite de pré-reprise faite.',
			'Bilan de compétences commencé. Dort mieux.'
		]
	}
};

/** Extra lines when the team has a social worker or a psychologist: each patient gets one of each. */
const SOCIAL_MODULES: { problem: Line; objective: Line; action: ActionSpec }[] = [
	{ problem: ['justice', 'Obligation de soins prononcée par le tribunal, suivi par le SPIP.'], objective: ['justice', 'Respecter l’obligation de soins.'], action: { what: 'Attestation de suivi pour le SPIP chaque trimestre', owner: 'ts', due: 30 } },
	{ problem: ['droits', 'Complémentaire santé arrivée à échéance.'], objective: ['droits', 'Renouveler la complémentaire santé solidaire.'], action: { what: 'Renouvellement de la complémentaire santé solidaire', owner: 'ts', due: 21 } },
	{ problem: ['emploi_ressources', 'Fin de droits au chômage dans trois mois.'], objective: ['emploi_ressources', 'Anticiper la fin de droits.'], action: { what: 'Rendez-vous France Travail et demande de RSA si nécessaire', owner: 'ts', due: 30 } },
	{ problem: ['famille_parentalite', 'Suivi éducatif de l’enfant par l’ASE.'], objective: ['famille_parentalite', 'Maintenir le lien avec l’enfant et la confiance de l’ASE.'], action: { what: 'Rencontre avec l’éducatrice de l’ASE', owner: 'ts', due: 30 } },
	{ problem: ['logement', 'Logement dégradé (humidité, chauffage en panne).'], objective: ['logement', 'Obtenir les travaux ou un relogement.'], action: { what: 'Signalement au service d’hygiène et demande de logement social', owner: 'ts', due: 45 } },
	{ problem: ['droits', 'Reconnaissance de handicap à demander.'], objective: ['droits', 'Déposer le dossier MDPH.'], action: { what: 'Dossier MDPH avec le certificat médical', owner: 'ts', due: 60 } }
];
const PSY_MODULES: { problem: Line; action: ActionSpec }[] = [
	{ problem: ['psychologique', 'Antécédent de violences dans l’enfance, jamais abordé en soins.'], action: { what: 'Évaluer un psychotraumatisme (PCL-5), orientation spécialisée si besoin', owner: 'psy', due: 45 } },
	{ problem: ['psychologique', 'Faible estime de soi, honte de la situation.'], action: { what: 'Entretiens centrés sur l’estime de soi', owner: 'psy', due: 30 } },
	{ problem: ['psychologique', 'Colères soudaines, passages à l’acte verbaux.'], action: { what: 'Travail sur la régulation des émotions', owner: 'psy', due: 30 } },
	{ problem: ['psychologique', 'Idées suicidaires passées (tentative il y a cinq ans).'], action: { what: 'Évaluer le risque suicidaire à chaque entretien', owner: 'psy', due: 14 } }
];

const RHYTHM: Record<Role, string[]> = {
	gp: ['Consultation toutes les quatre semaines.', 'Consultation mensuelle, plus si besoin.', 'Tous les quinze jours pendant trois mois, puis chaque mois.'],
	psy: ['Entretien tous les quinze jours.', 'Entretien chaque semaine le premier mois, puis tous les quinze jours.', 'Entretien tous les quinze jours (dix séances prévues).'],
	ts: ['Rendez-vous mensuel, plus si une démarche presse.', 'Rendez-vous tous les quinze jours le temps des démarches.']
};

const RECENT: Record<Role, string[]> = {
	gp: ['Renouveler l’ordonnance et revoir le bilan sanguin', 'Consultation de suivi : poids, tension, sommeil'],
	psy: ['Entretien de suivi : bilan des trois derniers mois', 'Proposer un entretien avec un proche'],
	ts: ['Faire le point sur les démarches en attente', 'Vérifier l’ouverture des droits après le renouvellement']
};

const PREP: Record<Role, string[]> = {
	gp: ['Revu en consultation la semaine dernière : état stable, bilan sanguin demandé.', 'Observance correcte ; à discuter : suite du traitement.'],
	psy: ['Vu trois fois depuis la dernière RCP, bonne alliance. Souhaite qu’on parle de la suite du suivi.', 'Entretiens réguliers ; anxiété en baisse, sommeil encore difficile.'],
	ts: ['Démarches en cours, réponse attendue ce mois-ci.', 'Dossier déposé, à relancer si pas de réponse sous quinze jours.']
};

/** What the demo knows of a patient to write their plan. */
export interface DemoPatient {
	id: string;
	code: string;
	/** Stable across runs (names and birth date come from the demo's generator). */
	key: string;
	msId: string;
	birthDate: string;
	state: PatientState;
	programme: Programme;
	motif: Motif | null;
	orientation: Orientation | null;
	includedOn: string | null;
	firstContactOn: string | null;
	lastContactOn: string | null;
	exitedOn: string | null;
	renewalDueOn: string | null;
	/** The GP who included the patient. */
	gp: string;
	team: Record<Role, string[]>;
}

interface Edit {
	on: string;
	apply(doc: Y.Doc): void;
}

interface Plan {
	patient: DemoPatient;
	theme: Theme;
	rand: () => number;
	doc: Y.Doc;
	edits: Edit[];
	applied: number;
	/** Edits applied when the last version was validated (-1: never). */
	versioned: number;
	versions: number;
}

/** A stable number from a string (FNV-1a), to seed each patient's own generator. */
function hash(text: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
	return h >>> 0;
}

function themeFor(p: DemoPatient, rand: () => number, today: string): Theme {
	const age = Number(today.slice(0, 4)) - Number(p.birthDate.slice(0, 4));
	// Stories that fit the age: no crack or injecting at 70, no mother lost in a nursing home at 30.
	const fits = (key: string) => ({ cannabis: age < 45, opioides: age < 60, crack: age < 60, epuisement: age < 62, deuil: age >= 45 })[key] ?? true;
	const weighted = (all: [string, number][]) => {
		const choices = all.filter(([key]) => fits(key));
		let roll = rand() * choices.reduce((s, [, w]) => s + w, 0);
		for (const [key, w] of choices) if ((roll -= w) < 0) return THEMES[key];
		return THEMES[choices[0]?.[0] ?? 'alcool'];
	};
	if (p.programme === 'MSPC') return p.motif === 'addiction' ? weighted([['anxiete', 1], ['epuisement', 1]]) : weighted([['covid_long', 3], ['anxiete', 2], ['deuil', 1], ['epuisement', 1]]);
	if (p.motif === 'precarite') return weighted([['rue', 1], ['dettes', 1]]);
	if (p.motif === 'sante_mentale') return weighted([['anxiete', 1], ['deuil', 1]]);
	return weighted([['alcool', 3], ['cannabis', 2], ['opioides', 2], ['crack', 1]]);
}

function setProse(fragment: Y.XmlFragment, blocks: Block[]): void {
	const paragraph = (text: string) => {
		const p = new Y.XmlElement('paragraph');
		p.insert(0, [new Y.XmlText(text)]);
		return p;
	};
	fragment.delete(0, fragment.length);
	fragment.insert(
		0,
		blocks.map((block) => {
			if (typeof block === 'string') return paragraph(block);
			const ul = new Y.XmlElement('bulletList');
			ul.insert(
				0,
				block.map((text) => {
					const li = new Y.XmlElement('listItem');
					li.insert(0, [paragraph(text)]);
					return li;
				})
			);
			return ul;
		})
	);
}

const isActive = (p: DemoPatient) => p.state === 'inclus' || p.state === 'en_suivi';

/**
 * Every demo patient's plan, with the dates at which its parts were written. `docAt` gives the
 * document as it stood on a day (the RCPs validate those states), `store` writes what stands today.
 */
export class DemoPlans {
	private plans = new Map<string, Plan>();

	constructor(
		patients: DemoPatient[],
		private readonly today: string
	) {
		for (const p of patients) {
			const rand = prng(hash(p.key));
			const theme = themeFor(p, rand, today);
			const plan: Plan = { patient: p, theme, rand, doc: new Y.Doc(), edits: [], applied: 0, versioned: -1, versions: 0 };
			this.write(plan);
			if (plan.edits.length) this.plans.set(p.id, plan);
		}
	}

	/** Patients with a plan. */
	get patientIds(): string[] {
		return [...this.plans.keys()];
	}

	/** The team member who owns a role's work (the first of them), or null when the team has none. */
	private owner(p: DemoPatient, role: Role): string | null {
		return p.team[role][0] ?? null;
	}

	/** Plans a patient's edits (none for a patient not yet seen, a short draft for some recent ones). */
	private write(plan: Plan): void {
		const { patient: p, theme, rand } = plan;
		const pick = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)];
		if (!p.includedOn || p.state === 'oriente' || p.state === 'transfere') return;
		const lastDay = p.exitedOn ?? this.today;
		const capped = (day: string) => (day > lastDay ? lastDay : day);
		const owned = (specs: ActionSpec[]) => specs.filter((a) => this.owner(p, a.owner));
		const addAction = (doc: Y.Doc, spec: ActionSpec, on: string, status: ActionStatus) =>
			list(doc, 'actions').push([newItem('actions', { what: spec.what, owner: this.owner(p, spec.owner)!, due: addDays(on, spec.due), status })]);
		const coordinator = (theme.coordinator && this.owner(p, theme.coordinator)) || p.gp;

		if (!p.firstContactOn) {
			// Included, not seen yet: half of the recent ones already have a draft by their GP.
			if (p.state !== 'inclus' || rand() < 0.5 || p.includedOn < addDays(this.today, -30)) return;
			const on = capped(addDays(p.includedOn, 1));
			plan.edits.push({
				on,
				apply: (doc) => {
					setProse(doc.getXmlFragment('goals'), theme.goals.slice(0, 2));
					list(doc, 'problems').push(theme.problems.slice(0, 2).map(([domain, text]) => newItem('problems', { domain, text })));
					for (const a of owned(theme.actions).filter((x) => x.owner === 'gp').slice(0, 1)) addAction(doc, a, on, 'a_faire');
					meta(doc).set('coordinator', p.gp);
				}
			});
			return;
		}

		// First plan, written in the days after the first contact.
		const s1 = capped(addDays(p.firstContactOn, 2 + Math.floor(rand() * 5)));
		const social = this.owner(p, 'ts') ? pick(SOCIAL_MODULES) : null;
		const psy = this.owner(p, 'psy') ? pick(PSY_MODULES) : null;
		const first = owned(theme.actions);
		plan.edits.push({
			on: s1,
			apply: (doc) => {
				setProse(doc.getXmlFragment('goals'), [theme.goals[0], (theme.goals[1] as string[]).filter(() => rand() < 0.85)]);
				setProse(doc.getXmlFragment('crisis'), theme.crisis);
				list(doc, 'problems').push([...theme.problems, ...(social ? [social.problem] : []), ...(psy ? [psy.problem] : [])].map(([domain, text]) => newItem('problems', { domain, text })));
				list(doc, 'objectives').push([...theme.objectives, ...(social ? [social.objective] : [])].map(([domain, text]) => newItem('objectives', { domain, text })));
				first.forEach((a, i) => addAction(doc, a, s1, i === 0 ? 'en_cours' : 'a_faire'));
				if (social) addAction(doc, social.action, s1, 'a_faire');
				if (psy) addAction(doc, psy.action, s1, 'a_faire');
				list(doc, 'entretiens').push(
					(['gp', 'psy', 'ts'] as Role[])
						.filter((role) => this.owner(p, role))
						.map((role) => newItem('entretiens', { professional: this.owner(p, role)!, frequency: theme.rhythm?.[role] ?? pick(RHYTHM[role]) }))
				);
				const m = meta(doc);
				m.set('coordinator', coordinator);
				m.set('reviewDate', addDays(s1, 90));
				m.set('evaluation', new Y.Text(theme.evaluation));
			}
		});

		// Follow-up, a few months later: first actions done, new ones, the review date moved.
		const s2 = addDays(s1, 70 + Math.floor(rand() * 40));
		const followedUp = s2 <= addDays(lastDay, -7) && s2 < addDays(this.today, -3) && (p.lastContactOn ?? s1) >= addDays(s2, -30);
		if (followedUp) {
			const later = owned(theme.later.actions);
			const dropped = rand() < 0.2 ? 1 : -1;
			plan.edits.push({
				on: s2,
				apply: (doc) => {
					list(doc, 'actions').forEach((m, i) => m.set('status', i === dropped ? 'abandonne' : i === first.length - 1 ? 'en_cours' : 'fait'));
					list(doc, 'objectives').push(theme.later.objectives.map(([domain, text]) => newItem('objectives', { domain, text })));
					later.forEach((a, i) => addAction(doc, a, s2, i === 0 ? 'en_cours' : 'a_faire'));
					const goal = list(doc, 'objectives').get(0)?.get('text');
					if (goal instanceof Y.Text) goal.insert(goal.length, ' En bonne voie.');
					meta(doc).set('reviewDate', addDays(s2, 120));
				}
			});
		}

		const lost = p.state === 'en_suivi' && (p.lastContactOn ?? s1) < addDays(this.today, -90);
		if (lost) {
			// Lost to follow-up: the team tries to reach the patient again.
			const on = capped(addDays(p.lastContactOn ?? s1, 45));
			if (on <= (followedUp ? s2 : s1)) return;
			plan.edits.push({
				on,
				apply: (doc) => {
					addAction(doc, { what: 'Relancer : appel, SMS et courrier ; prévenir la pharmacie', owner: this.owner(p, 'ts') ? 'ts' : 'gp', due: 15 }, on, 'en_cours');
				}
			});
		} else if (p.state === 'sorti' && p.exitedOn) {
			const on = addDays(p.exitedOn, -3);
			if (on <= (followedUp ? s2 : s1)) return;
			plan.edits.push({ on, apply: (doc) => list(doc, 'actions').forEach((m) => m.get('status') !== 'abandonne' && m.set('status', 'fait')) });
		} else if (isActive(p)) {
			// Recent changes: the follow-up's first action done, something new for the coming weeks.
			const s3 = addDays(this.today, -Math.floor(rand() * 12));
			if (s3 <= addDays(followedUp ? s2 : s1, 14)) return;
			const role = pick((['gp', 'psy', 'ts'] as Role[]).filter((r) => this.owner(p, r)));
			const renewal = p.renewalDueOn && p.renewalDueOn <= addDays(this.today, 60);
			plan.edits.push({
				on: s3,
				apply: (doc) => {
					const actions = list(doc, 'actions');
					const open = actions.toArray().find((m) => m.get('status') === 'en_cours' || m.get('status') === 'a_faire');
					open?.set('status', 'fait');
					addAction(doc, { what: pick(RECENT[role]), owner: role, due: 7 + Math.floor(rand() * 30) }, s3, 'a_faire');
					if (renewal) addAction(doc, { what: 'Préparer le bilan à un an pour la RCP de renouvellement', owner: 'gp', due: 14 }, s3, 'a_faire');
					if (fieldText(meta(doc), 'reviewDate') < s3) meta(doc).set('reviewDate', addDays(s3, 90));
				}
			});
		}
	}

	private advance(plan: Plan, before: string): void {
		while (plan.applied < plan.edits.length && plan.edits[plan.applied].on < before) {
			const edit = plan.edits[plan.applied++];
			plan.doc.transact(() => edit.apply(plan.doc));
		}
	}

	/** The plan as it stood at the start of `day`, or null when nothing was written yet. */
	docAt(patientId: string, day: string): Y.Doc | null {
		const plan = this.plans.get(patientId);
		if (!plan) return null;
		this.advance(plan, day);
		return plan.applied > 0 ? plan.doc : null;
	}

	/**
	 * The plan adapted in RCP on `day` ("Adaptation du PPS"): the actions decided join the plan, the
	 * sessions come closer and the review date moves; the version the session validates shows it.
	 */
	adapt(patientId: string, day: string, actions: { what: string; ownerId: string; dueOn: string }[]): void {
		const plan = this.plans.get(patientId);
		if (!this.docAt(patientId, day) || !plan) return;
		const edit: Edit = {
			on: day,
			apply: (doc) => {
				list(doc, 'actions').push(actions.map((a) => newItem('actions', { what: a.what, owner: a.ownerId, due: a.dueOn, status: 'a_faire' })));
				const sessions = list(doc, 'entretiens').toArray().find((m) => m.get('professional') === plan.patient.team.psy[0]) ?? list(doc, 'entretiens').get(0);
				const frequency = sessions?.get('frequency');
				if (frequency instanceof Y.Text) {
					frequency.delete(0, frequency.length);
					frequency.insert(0, 'Chaque semaine pendant un mois (décision de RCP), puis à réévaluer.');
				}
				meta(doc).set('reviewDate', addDays(day, 90));
			}
		};
		plan.edits.splice(plan.applied, 0, edit);
		this.advance(plan, addDays(day, 1));
	}

	/**
	 * Whether an RCP on `day` validates a version (as closing does: the plan changed since its last
	 * version, or the decision asks for one); if so, records it and returns the version's number.
	 */
	takeVersion(patientId: string, day: string, asked: boolean): { number: number; doc: Y.Doc } | null {
		const plan = this.plans.get(patientId);
		const doc = this.docAt(patientId, day);
		if (!plan || !doc || !(asked || plan.applied !== plan.versioned)) return null;
		plan.versioned = plan.applied;
		return { number: ++plan.versions, doc };
	}

	/** The theme's lines for a case discussed in RCP. */
	caseNote(patientId: string, n: number): string {
		const plan = this.plans.get(patientId);
		const notes = plan?.theme.notes ?? ['Premier passage en RCP : présentation de la situation, plan à construire avec le patient.'];
		return notes[n % notes.length];
	}

	/** A preparation note from one of the team, before a session. */
	prepNote(role: Role, n: number): string {
		return PREP[role][n % PREP[role].length];
	}

	/** One or two actions an RCP decides for the patient, given to members of the care team. */
	rcpActions(patient: Pick<DemoPatient, 'id' | 'team'>, day: string, n: number): { what: string; ownerId: string; dueOn: string }[] {
		const theme = this.plans.get(patient.id)?.theme;
		const specs = (theme?.rcp ?? THEMES.alcool.rcp).filter((a) => patient.team[a.owner][0]);
		const chosen = specs.slice(n % 2, (n % 2) + 1 + (n % 3 === 0 ? 1 : 0));
		return (chosen.length ? chosen : specs.slice(0, 1)).map((a) => ({ what: a.what, ownerId: patient.team[a.owner][0], dueOn: addDays(day, a.due) }));
	}

	/** Writes each plan as it stands today: one stored update per document, and its projection. */
	async store(db: Db): Promise<number> {
		for (const [id, plan] of this.plans) {
			this.advance(plan, addDays(this.today, 1));
			await appendUpdate(db, ppsDocName(id), Y.encodeStateAsUpdate(plan.doc));
			await saveProjection(db, id, project(plan.doc));
		}
		return this.plans.size;
	}

	/** Patients whose plan was last changed today (their GP may validate it at once). */
	changedToday(): string[] {
		return [...this.plans.values()].filter((p) => p.edits.at(-1)?.on === this.today).map((p) => p.patient.id);
	}

	/** The document of a plan as stored (after `store`). */
	current(patientId: string): Y.Doc | null {
		return this.plans.get(patientId)?.doc ?? null;
	}

	projection(patientId: string): PpsProjection | null {
		const doc = this.current(patientId);
		return doc ? project(doc) : null;
	}
}
