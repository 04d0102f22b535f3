package draft

import "strings"

const actComm = "comm" // communication: the party decides A105..A108

type verbInfo struct {
	act  string // UTBMS activity, actComm, or "prepare"/"take" for special rules
	past string // past tense used in narratives
}

var verbs = map[string]verbInfo{}

func init() {
	// base, past, other forms...; activity
	table := []struct {
		act   string
		forms string
	}{
		{"A103", "draft:drafted drafts drafting|create:created creating|revise:revised revises revising|edit:edited edits editing|write:wrote writes writing written|finalize:finalized finalizes finalizing|finalise:finalised finalising|redraft:redrafted redrafting|amend:amended amending|compose:composed composing|proofread:proofread proofreading|redline:redlined redlining"},
		{"A104", "review:reviewed reviews reviewing|analyze:analyzed analyzes analyzing|analyse:analysed analysing|read:read reads reading|examine:examined examining|evaluate:evaluated evaluating|assess:assessed assessing|summarize:summarized summarizing|summarise:summarised summarising|study:studied studying|audit:audited auditing"},
		{"A102", "research:researched researching|investigate:investigated investigating"},
		{"prepare", "prepare:prepared prepares preparing|prep:prepped prepping"},
		{"A101", "plan:planned planning|outline:outlined outlining|strategize:strategized strategizing"},
		{"A109", "attend:attended attends attending|appear:appeared appearing|argue:argued arguing|interview:interviewed interviewing|testify:testified testifying"},
		{"work", "work:worked working works"},
		{"take", "take:took taking taken|defend:defended defending|sit:sat sitting|cover:covered covering"},
		{"A110", "organize:organized organizing|organise:organised organising|index:indexed indexing|scan:scanned scanning|catalog:cataloged cataloging|catalogue:catalogued cataloguing|sort:sorted sorting|upload:uploaded uploading|compile:compiled compiling|label:labeled labeling|bates:bates-stamped"},
		{"A111", "travel:traveled travelled traveling travelling|wait:waited waiting|drive:drove driving|file:filed filing|e-file:e-filed e-filing|efile:efiled efiling"},
		{actComm, "call:called calls calling|phone:phoned phoning|telephone:telephoned|email:emailed emails emailing|e-mail:e-mailed e-mailing|text:texted texting texts|message:messaged messages|meet:met meeting meets|confer:conferred conferring conference conferences|discuss:discussed discussing|speak:spoke speaking spoken|talk:talked talking|correspond:corresponded corresponding correspondence|negotiate:negotiated negotiating|consult:consulted consulting consultation|advise:advised advising|letter:letter letters|voicemail:voicemail|zoom:zoom"},
	}
	for _, row := range table {
		for _, group := range strings.Split(row.forms, "|") {
			base, rest, _ := strings.Cut(group, ":")
			fs := strings.Fields(rest)
			past := fs[0]
			verbs[base] = verbInfo{row.act, past}
			for _, f := range fs {
				verbs[f] = verbInfo{row.act, past}
			}
		}
	}
	// nouns that name an appearance
	for _, w := range []string{"hearing", "trial", "mediation", "arbitration", "deposition", "appearance", "arraignment", "conference"} {
		appearanceNouns[w] = true
	}
}

var appearanceNouns = map[string]bool{}

var fileDeterminer = setOf(`the this that a our their client's clients' his her whole entire case matter`)

var docNouns = setOf(`motion motions brief briefs letter letters agreement agreements contract contracts
affidavit affidavits complaint answer memo memorandum pleading pleadings petition will deed notice
response responses interrogatories order orders stipulation draft lease amendment declaration
report proposal opinion objection objections subpoena summons filing filings document documents
agenda resolution resolutions minutes bylaws certificate waiver release settlement term sheet
accounting accountings inventory checklist disclosure disclosures return returns application
applications questionnaire summary chronology timeline`)

var (
	firmParty = setOf(`paralegal paralegals associate associates partner colleague colleagues assistant
secretary intern interns team staff co-worker coworker supervising`)
	counselParty = setOf(`counsel attorney attorneys lawyer lawyers prosecutor prosecutors da ada
opposing solicitor co-counsel cocounsel defense`)
	externalParty = setOf(`court clerk judge chambers expert experts appraiser accountant accountants cpa
mediator arbitrator adjuster insurer insurance investigator doctor physician therapist witness
witnesses realtor broker lender bank banker agency inspector officer police detective consultant
auditor guardian gal registrar recorder board planner surveyor vendor probation caseworker evaluator
reporter interpreter translator custodian examiner commissioner magistrate underwriter landlord
county city township municipality department irs assessor commission zoning planning actuary
valuator valuation-expert`)
	clientParty = setOf(`client clients executor executrix trustee trustees ceo cfo coo cto founder
founders owner owners him her family`)
	windowStop = setOf(`about regarding re concerning on discussing to-discuss over`)
)

// party classifies the other side of a communication starting at toks[p].
// Within a noun phrase the last party word is the head ("assistant district
// attorney" is counsel, "probate court clerk" is the clerk); possessives are
// not the party ("the landlord's attorney").
func party(toks []token, p int, pc partyCtx) string {
	// "client call", "paralegal meeting"
	if p > 0 && !toks[p-1].brk {
		if a := partyWord(toks, p-1, pc); a != "" {
			return a
		}
	}
	found, owner := "", ""
	for j := p + 1; j < len(toks) && j <= p+10; j++ {
		w := toks[j].w
		if windowStop[w] && j > p+1 {
			break
		}
		if found != "" && (phraseStop[w] || toks[j].used == useDuration || toks[j].used == useDate) {
			break
		}
		if a := partyWord(toks, j, pc); a != "" {
			found = a
		} else if owner == "" && (strings.HasSuffix(w, "'s") || strings.HasSuffix(toks[j].raw, "s'")) {
			// "the transit authority's risk manager": the owner tells the side
			owner = partyWord(toks, j, partyCtx{client: pc.client, opposing: pc.opposing, possessive: true})
		}
		if toks[j].brk {
			break
		}
	}
	if found != "" {
		return found
	}
	if owner != "" {
		return owner
	}
	return "A106"
}

// partyCtx carries the names of the matter's client and of the other side.
type partyCtx struct {
	client, opposing map[string]bool
	possessive       bool // classify a possessive word by its owner
}

var courtConference = setOf(`pretrial pre-trial status scheduling settlement management mandatory`)

var phraseStop = setOf(`at about regarding re to for on with of in and from by concerning`)

func partyWord(toks []token, j int, pc partyCtx) string {
	if !pc.possessive && (strings.HasSuffix(toks[j].w, "'s") || strings.HasSuffix(toks[j].raw, "s'")) {
		return ""
	}
	w := key(toks[j].w)
	prev := ""
	if j > 0 {
		prev = key(toks[j-1].w)
	}
	switch {
	case w == "counsel" && (prev == "general" || prev == "inhouse" || prev == "house"):
		return "A106"
	case w == "clerk" && prev == "law":
		return "A105"
	case w == "partner" && prev == "managing":
		return "A105"
	case firmParty[w]:
		return "A105"
	case counselParty[w]:
		return "A107"
	case externalParty[w]:
		return "A108"
	case clientParty[w] || pc.client[w]:
		return "A106"
	case pc.opposing[w]:
		return "A108"
	}
	return ""
}

// classify returns the UTBMS activity: the first activity verb of the
// dictation decides; appearance nouns are the fallback.
func classify(toks []token, pc partyCtx) string {
	for i := range toks {
		if toks[i].used == useDuration || toks[i].used == useDate {
			continue
		}
		v, ok := verbs[toks[i].w]
		if !ok {
			continue
		}
		// "the Garcia file", "this file": a noun, not filing
		if (toks[i].w == "file" || toks[i].w == "files") && i > 0 && (fileDeterminer[toks[i-1].w] || (toks[i-1].cap && toks[i-1].w != "i")) {
			continue
		}
		switch v.act {
		case actComm:
			// "text" as in "the text of the statute" is not a message
			if (toks[i].w == "text" || strings.HasPrefix(toks[i].w, "letter")) && i+1 < len(toks) && toks[i+1].w == "of" {
				continue
			}
			if toks[i].w == "conference" && i > 0 && courtConference[toks[i-1].w] {
				return "A109" // a court conference is attended
			}
			return party(toks, i, pc)
		case "prepare":
			for j := i + 1; j < len(toks) && j <= i+4; j++ {
				w := toks[j].w
				if w == "for" || w == "exhibits" || w == "witness" || w == "witnesses" || w == "testimony" || w == "outline" {
					return "A101"
				}
				if docNouns[w] {
					return "A103"
				}
				if toks[j].brk {
					break
				}
			}
			return "A101"
		case "work":
			// "worked on the brief" is drafting; other work says nothing
			for j := i + 1; j < len(toks) && j <= i+6 && !toks[j-1].brk; j++ {
				if docNouns[toks[j].w] {
					return "A103"
				}
			}
			continue
		case "take":
			for j := i + 1; j < len(toks) && j <= i+3; j++ {
				if strings.HasPrefix(toks[j].w, "deposition") {
					return "A109"
				}
			}
			continue
		default:
			return v.act
		}
	}
	for i := range toks {
		if appearanceNouns[toks[i].w] && toks[i].used == useNone {
			return "A109"
		}
	}
	// "strategy session with the partner": a named party after "with"
	for i := range toks {
		if toks[i].w != "with" || toks[i].used != useNone {
			continue
		}
		for j := i + 1; j < len(toks) && j <= i+4; j++ {
			if a := partyWord(toks, j, pc); a != "" {
				return party(toks, i, pc)
			}
			if toks[j].brk {
				break
			}
		}
	}
	return ""
}

var taskRules = []struct {
	code    string
	phrases []string
}{
	{"L350", []string{"motion to compel", "protective order", "discovery motion", "motion for sanctions", "discovery dispute"}},
	{"L240", []string{"summary judgment", "motion to dismiss", "dispositive"}},
	{"L510", []string{"notice of appeal", "appellate motion"}},
	{"L520", []string{"appellate brief", "appeal brief", "opening brief", "reply brief", "appellee", "appellant"}},
	{"L530", []string{"oral argument"}},
	{"L330", []string{"deposition", "depose"}},
	{"L310", []string{"interrogator", "request for production", "requests for production", "requests for admission", "discovery responses", "discovery requests", "written discovery", "subpoena"}},
	{"L320", []string{"document production", "documents produced", "produced by", "privilege log", "production of documents"}},
	{"L130", []string{"expert"}},
	{"L160", []string{"mediation", "settlement", "mediator"}},
	{"L230", []string{"pretrial conference", "pre-trial conference", "scheduling conference", "status conference", "case management conference"}},
	{"L220", []string{"injunction", "restraining order", "temporary support", "temporary custody", "temporary orders"}},
	{"L210", []string{"complaint", "counterclaim", "pleading", "petition", "answer to"}},
	{"L440", []string{"exhibit", "trial preparation", "trial prep", "witness list", "jury instruction"}},
	{"L410", []string{"testimony", "witness"}},
	{"L450", []string{"hearing", "trial"}},
	{"L250", []string{"motion", "brief", "memorandum"}},
	{"L110", []string{"police report", "footage", "investigat", "records", "body camera", "discovery"}},
	{"L120", []string{"research", "strategy", "case law", "statute", "analysis"}},
	{"L140", []string{"organize", "index", "documents"}},
	{"L150", []string{"budget"}},
}

// task picks the litigation task code from the narrative, or "" if none fits.
func task(lowerText string) string {
	for _, r := range taskRules {
		for _, p := range r.phrases {
			if strings.Contains(lowerText, p) {
				return r.code
			}
		}
	}
	return ""
}
