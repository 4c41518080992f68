package report

import (
	"strings"
	"unicode"
)

// Text from a spec, a manifest or a results file reaches terminals and Markdown renderers as data,
// never as commands: control characters (an ESC that starts a terminal sequence, a carriage
// return that overwrites a line) are removed, and in Markdown the characters of HTML (&, <, >) are
// escaped, so a description with <script> or <img onerror=…> is shown as written.

// stripControl removes the control characters of s except line feeds and tabs, which multiLine
// keeps (and oneLine turns into spaces).
func stripControl(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }

// escapeHTML escapes &, < and > as HTML entities.
func escapeHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// markdownText makes free text (a description, a note) safe in Markdown: no control characters,
// no HTML; line breaks and Markdown emphasis are kept.
func markdownText(s string) string {
	return escapeHTML(stripControl(strings.ReplaceAll(s, "\r\n", "\n")))
}

// markdownLiteral escapes every character that Markdown or HTML would read in a name shown as it
// is (a class name): unlike markdownText it keeps no emphasis.
var markdownLiteral = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "&", "&amp;", "<", "&lt;", ">", "&gt;", "|", `\|`, "#", `\#`)

// markdownSafe returns a copy of e whose text is safe in Markdown (see markdownText); the spec's
// text keeps its characters, as it is shown in a fenced code block, without its control
// characters.
func markdownSafe(e Experiment) Experiment {
	one := func(s string) string { return escapeHTML(stripControl(s)) }
	e.Title, e.Description, e.Note, e.Rule = one(e.Title), markdownText(e.Description), markdownText(e.Note), one(e.Rule)
	env := &e.Env
	env.Version, env.GoVersion, env.CPU, env.OS = one(env.Version), one(env.GoVersion), one(env.CPU), one(env.OS)
	env.SpecFile, env.SpecHash, env.SpecText = one(env.SpecFile), one(env.SpecHash), stripControl(env.SpecText)
	env.Machines = append([]Machine(nil), env.Machines...)
	for i := range env.Machines {
		m := &env.Machines[i]
		m.Version, m.GoVersion, m.CPU, m.OS = one(m.Version), one(m.GoVersion), one(m.CPU), one(m.OS)
	}
	e.Models = append([]Model(nil), e.Models...)
	for i := range e.Models {
		m := &e.Models[i]
		m.Name, m.Polynomial = one(m.Name), one(m.Polynomial)
		if m.Search != nil {
			s := *m.Search
			s.Method = one(s.Method)
			s.Notes = append([]string(nil), s.Notes...)
			for j := range s.Notes {
				s.Notes[j] = one(s.Notes[j])
			}
			m.Search = &s
		}
		m.Points = append([]Point(nil), m.Points...)
		for j := range m.Points {
			p := &m.Points[j]
			p.Label, p.Status = one(p.Label), Status(one(string(p.Status)))
			p.Layers = append([]Layer(nil), p.Layers...)
			for k := range p.Layers {
				p.Layers[k].Name = one(p.Layers[k].Name)
			}
		}
	}
	return e
}
