package main

import (
	"context"
	"io"
)

func sim(ctx context.Context, args []string, stdout, stderr io.Writer) error { return nil }
