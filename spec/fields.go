package spec

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/go-playground/locales/en"
	ut "github.com/go-playground/universal-translator"
	"github.com/go-playground/validator/v10"
	en_translations "github.com/go-playground/validator/v10/translations/en"
)

// fieldRules checks the struct-tag rules (ranges, enums, required keys) through
// go-playground/validator, with messages translated to English and paths in YAML names.
type fieldRules struct {
	v     *validator.Validate
	trans ut.Translator
}

var rules = sync.OnceValue(func() *fieldRules {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		if name := yamlName(f); name != "" {
			return name
		}
		return strings.ToLower(f.Name)
	})
	english := en.New()
	trans, _ := ut.New(english, english).GetTranslator("en")
	if err := en_translations.RegisterDefaultTranslations(v, trans); err != nil {
		panic("spec: registering validator translations: " + err.Error())
	}
	return &fieldRules{v: v, trans: trans}
})

// check runs the tag rules over s and returns positioned errors.
func (r *fieldRules) check(s *Spec) ErrorList {
	err := r.v.Struct(s)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return nil
	}
	var out ErrorList
	for _, fe := range verrs {
		// The namespace reads "Spec.models[0].train.epochs"; drop the type name.
		ns := fe.Namespace()
		if _, rest, ok := strings.Cut(ns, "."); ok {
			ns = rest
		}
		p := Path(ns)
		msg := fe.Translate(r.trans)
		out = append(out, s.errorAt(p, fieldFix(fe), "%s", msg))
	}
	return out
}

// fieldFix suggests what to write for a failed tag rule.
func fieldFix(fe validator.FieldError) string {
	switch fe.Tag() {
	case "oneof":
		options := strings.Fields(fe.Param())
		if s, ok := fe.Value().(string); ok {
			if best := suggest(s, options); best != "" {
				return fmt.Sprintf("did you mean %q?", best)
			}
		}
		return "use one of: " + strings.Join(options, ", ")
	case "required":
		return fmt.Sprintf("add %s:", fe.Field())
	case "gt", "gte", "lt", "lte", "len", "max", "min":
		return ""
	}
	return ""
}
