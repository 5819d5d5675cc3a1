package nested

import (
	"github.com/aper-go/aper"
	"github.com/aper-go/aper/text"
)

// Outer holds an Inner that aper-gen makes a state machine in the same run (-type Outer,Inner),
// before Inner has any methods.
type Outer struct {
	Inner *Inner `json:"inner"`
	Hits  *aper.Counter
}

// Inner has a text, whose Forward makes Inner get one, and whose Ordered and Sent make Inner get
// them; Outer and Choice get them through it.
type Inner struct {
	Score *aper.Counter `json:"score"`
	Note  *text.Text    `json:"note"`
}

// Choice is a one-of (-oneof Choice) with a field of a type generated in the same run.
type Choice struct {
	In  *Inner `json:"in"`
	Hit *aper.Counter
}
