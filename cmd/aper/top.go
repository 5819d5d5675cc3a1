package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	topmodel "github.com/aper-go/aper/cmd/aper/internal/top"
)

// top shows a running server's metrics, read from its /metrics once a second.
func top(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("top", "[-addr localhost:8080]", stderr)
	addr := fs.String("addr", "localhost:8080", "HTTP address of the aper serve to watch (its /metrics), or a metrics URL")
	every := fs.Duration("every", time.Second, "time between two scrapes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: aper top takes no arguments", errUsage)
	}
	if *every <= 0 {
		return fmt.Errorf("%w: -every %v, want > 0", errUsage, *every)
	}
	if !isTerminal(stdout) {
		return fmt.Errorf("%w: aper top needs a terminal", errUsage)
	}
	url := *addr
	if !strings.Contains(url, "://") {
		url = "http://" + url + "/metrics"
	}
	m := topmodel.New(url, *every, topmodel.Scraper(url, &http.Client{Timeout: 5 * time.Second}))
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithOutput(stdout))
	if _, err := p.Run(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("top: %w", err)
	}
	return nil
}
