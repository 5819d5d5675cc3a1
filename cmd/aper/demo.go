package main

import (
	"context"
	"io"
)

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error { return nil }
