// Package utbms holds the UTBMS (ABA Uniform Task-Based Management System) code sets
// Dictum drafts and validates against: activity codes (A1xx) and litigation task codes (L1xx-L5xx).
package utbms

import "sort"

// Activities are the UTBMS activity codes.
var Activities = map[string]string{
	"A101": "Plan and prepare for",
	"A102": "Research",
	"A103": "Draft/revise",
	"A104": "Review/analyze",
	"A105": "Communicate (in firm)",
	"A106": "Communicate (with client)",
	"A107": "Communicate (other outside counsel)",
	"A108": "Communicate (other external)",
	"A109": "Appear for/attend",
	"A110": "Manage data/files",
	"A111": "Other",
}

// LitigationTasks are the UTBMS litigation code set task codes.
var LitigationTasks = map[string]string{
	"L110": "Fact Investigation/Development",
	"L120": "Analysis/Strategy",
	"L130": "Experts/Consultants",
	"L140": "Document/File Management",
	"L150": "Budgeting",
	"L160": "Settlement/Non-Binding ADR",
	"L190": "Other Case Assessment, Development and Administration",
	"L210": "Pleadings",
	"L220": "Preliminary Injunctions/Provisional Remedies",
	"L230": "Court Mandated Conferences",
	"L240": "Dispositive Motions",
	"L250": "Other Written Motions and Submissions",
	"L260": "Class Action Certification and Notice",
	"L310": "Written Discovery",
	"L320": "Document Production",
	"L330": "Depositions",
	"L340": "Expert Discovery",
	"L350": "Discovery Motions",
	"L390": "Other Discovery",
	"L410": "Fact Witnesses",
	"L420": "Expert Witnesses",
	"L430": "Written Motions and Submissions",
	"L440": "Other Trial Preparation and Support",
	"L450": "Trial and Hearing Attendance",
	"L460": "Post-Trial Motions and Submissions",
	"L470": "Enforcement",
	"L510": "Appellate Motions and Submissions",
	"L520": "Appellate Briefs",
	"L530": "Oral Argument",
}

// ValidActivity reports whether code is a UTBMS activity code.
func ValidActivity(code string) bool { _, ok := Activities[code]; return ok }

// ValidTask reports whether code is a UTBMS litigation task code.
func ValidTask(code string) bool { _, ok := LitigationTasks[code]; return ok }

// Sorted returns the codes of a set in order, for menus and schemas.
func Sorted(set map[string]string) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
