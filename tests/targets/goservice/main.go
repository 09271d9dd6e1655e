// goservice: a Go program with many goroutines on several OS threads and a
// CPU-hungry goroutine, for autodump's core and profile tests.
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

var marker uint64

//go:noinline
func burnCPU() {
	x := uint64(0)
	for {
		x = x*6364136223846793005 + 1442695040888963407
		if x == 0 {
			fmt.Println(x)
		}
	}
}

//go:noinline
func blockForever(ch chan int) {
	<-ch
}

func main() {
	runtime.GOMAXPROCS(4)
	marker = 0xfeedfacecafebeef
	ch := make(chan int)
	for i := 0; i < 50; i++ {
		go blockForever(ch)
	}
	// Sleeping goroutines locked to threads: the runtime keeps several
	// OS threads alive.
	for i := 0; i < 4; i++ {
		go func() {
			runtime.LockOSThread()
			for {
				time.Sleep(time.Hour)
			}
		}()
	}
	if len(os.Args) > 1 && os.Args[1] == "spin" {
		go burnCPU()
	}
	fmt.Println("ready")
	select {}
}
