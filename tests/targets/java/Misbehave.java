// A JVM that misbehaves on cue, for the JVM tests: after AFTER seconds,
// "threads N" starts N sleeping threads (in spawnThreads, so a thread dump
// names it), "heap MIB" keeps MIB of arrays reachable (in growHeap), "idle"
// does nothing. It then sleeps until killed.
import java.util.ArrayList;
import java.util.List;

public class Misbehave {
    static final List<byte[]> kept = new ArrayList<>();

    static void spawnThreads(int n) {
        for (int i = 0; i < n; i++) {
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    return;
                }
            }, "spawned-" + i);
            t.setDaemon(true);
            t.start();
        }
    }

    static void growHeap(int mib) throws InterruptedException {
        for (int i = 0; i < mib; i++) {
            kept.add(new byte[1 << 20]);
            if (i % 16 == 0)
                Thread.sleep(20);
        }
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "idle";
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        double after = args.length > 2 ? Double.parseDouble(args[2]) : 0;
        Thread.sleep((long) (after * 1000));
        if (mode.equals("threads"))
            spawnThreads(n);
        else if (mode.equals("heap"))
            growHeap(n);
        System.out.println(mode + " done");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
