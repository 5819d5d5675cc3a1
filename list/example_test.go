package list_test

import (
	"fmt"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/list"
)

func Example() {
	// A list of counters. Constructors return a transition and never change the list; Apply
	// does. The server would order the transitions and every replica would apply them.
	l := list.New[*aper.Counter, aper.CounterTransition]()
	for _, v := range []int64{5, 3, 143} {
		_, t := l.Append(aper.NewCounter(v))
		if err := l.Apply(aper.On(t)); err != nil {
			panic(err)
		}
	}
	first, t := l.Prepend(aper.NewCounter(99))
	_ = l.Apply(aper.On(t))

	// Move the first item to the end and add 1 to it.
	_ = l.Apply(aper.On(l.MoveTo(first, 3)))
	_ = l.Apply(aper.On(l.Update(first, aper.CounterTransition{Op: aper.CounterOpAdd, Amount: 1})))

	var values []int64
	for _, v := range l.All() {
		values = append(values, v.Value())
	}
	fmt.Println(values)
	i, _ := l.IndexOf(first)
	fmt.Println("index of the moved item:", i)

	// A delete of an item that is gone is a NotFound conflict and changes nothing.
	_ = l.Apply(aper.On(l.Delete(first)))
	err := l.Apply(aper.On(l.Delete(first)))
	fmt.Println(err != nil, l.Len())
	// Output:
	// [5 3 143 100]
	// index of the moved item: 3
	// true 3
}
