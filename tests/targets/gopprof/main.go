// gopprof: a Go service with net/http/pprof, for autodump's Go tests.
// Serves on 127.0.0.1:0 (prints "listening PORT"), or not at all with
// -nopprof; after -after seconds leaks -leak goroutines, each parked in
// leakyWorker, and keeps -mib MiB reachable from growHeap.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"time"
)

var kept [][]byte

//go:noinline
func leakyWorker(ch chan int) {
	<-ch
}

//go:noinline
func growHeap(mib int) {
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(j)
		}
		kept = append(kept, b)
	}
}

func main() {
	after := flag.Float64("after", 0, "seconds before misbehaving")
	leak := flag.Int("leak", 0, "goroutines to leak")
	mib := flag.Int("mib", 0, "MiB to keep")
	nopprof := flag.Bool("nopprof", false, "serve no HTTP at all")
	flag.Parse()
	if !*nopprof {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("listening %d\n", l.Addr().(*net.TCPAddr).Port)
		go http.Serve(l, nil)
	} else {
		fmt.Println("listening none")
	}
	time.Sleep(time.Duration(*after * float64(time.Second)))
	ch := make(chan int)
	for i := 0; i < *leak; i++ {
		go leakyWorker(ch)
	}
	growHeap(*mib)
	fmt.Println("misbehaved")
	select {}
}
