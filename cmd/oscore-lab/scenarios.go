package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"oscore-lab/internal/scenario"
)

func cmdScenarios(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scenarios", "scenarios", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTITLE\tSHOWS")
	for _, s := range scenario.List() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Title, s.Section)
	}
	return tw.Flush()
}
