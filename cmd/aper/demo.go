package main

import (
	"context"
	"fmt"
	"io"

	tea "github.com/charmbracelet/bubbletea"

	demomodel "github.com/aper-go/aper/cmd/aper/internal/demo"
	"github.com/aper-go/aper/cmd/aper/internal/rooms"
)

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "[-room todo|counter|text]", stderr)
	room := fs.String("room", "todo", "kind of room: todo (shows rejections), counter or text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	k, err := rooms.KindOf(*room)
	if err != nil {
		return fmt.Errorf("%w: -room: %v", errUsage, err)
	}
	if k != rooms.TodoKind && k != rooms.Counter && k != rooms.Text {
		return fmt.Errorf("%w: -room: aper demo shows todo, counter and text rooms; the web page /demo/%s shows this one", errUsage, *room)
	}
	if !isTerminal(stdout) {
		return fmt.Errorf("%w: aper demo needs a terminal", errUsage)
	}
	m, err := demomodel.New(k)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer m.Close()
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithOutput(stdout))
	if _, err := p.Run(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}
