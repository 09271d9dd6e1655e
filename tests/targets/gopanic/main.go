// gopanic: a Go program that dereferences a nil pointer. The Go runtime
// handles SIGSEGV itself and turns it into a panic (exit status 2), or,
// with GOTRACEBACK=crash, aborts with SIGABRT after printing every
// goroutine.
package main

import (
	"fmt"
	"os"
)

type order struct{ total int }

//go:noinline
func settle(o *order) int {
	return o.total
}

func main() {
	fmt.Println("settling")
	var o *order
	os.Exit(settle(o))
}
