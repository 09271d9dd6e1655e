// Misbehave: a .NET program for autodump's tests. Prints "ready PID" once
// its runtime is up, then after --after seconds misbehaves as told, and
// prints "misbehaved" and the Unix time in ms:
//   alloc MIB MARKER   keeps MIB MiB of strings reachable, each holding MARKER
//   starve N           queues N thread-pool work items that each block a minute
//   http N MS          calls a local HttpListener N times a second with
//                      HttpClient; it answers after MS ms (status 200)
//   http-refused N     calls a local port nobody listens on N times a second
//   orders N MS        publishes its own telemetry: the EventCounter
//                      Autodump-Orders/orders-queued at N, the Meter
//                      instrument Autodump.Orders/orders.failed growing N a
//                      second, N DiagnosticListener "Autodump.Orders" events
//                      "OrderFailed" a second, and "Checkout" activities of
//                      MS ms
//   web N              an ASP.NET Core app on loopback whose /fail answers
//                      500, called N times a second
//   crash MARKER       keeps 1 MiB of strings holding MARKER, then reads
//                      through a null pointer: an AccessViolationException
//                      nothing catches, and the runtime aborts
//   idle               does nothing
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using Microsoft.Extensions.Logging;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

[EventSource(Name = "Autodump-Orders")]
sealed class OrdersEventSource : EventSource
{
    public static readonly OrdersEventSource Log = new OrdersEventSource();
    public static int Queued;
    PollingCounter queued;

    OrdersEventSource()
    {
        queued = new PollingCounter("orders-queued", this, () => Volatile.Read(ref Queued));
    }
}

static class Misbehave
{
    static readonly List<string> Kept = new List<string>();

    static void Alloc(int mib, string marker)
    {
        // Strings of about 64 KiB, each a marker then padding: in the heap as UTF-16.
        string pad = new string('.', 32 * 1024 - marker.Length);
        for (int i = 0; i < mib * 16; i++)
            Kept.Add(marker + i.ToString("D6") + pad);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void BlockedWorker(object state)
    {
        Thread.Sleep(60000);
    }

    static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    static void CallEvery(int perSecond, string url)
    {
        var client = new HttpClient();
        new Thread(() =>
        {
            while (true)
            {
                client.GetAsync(url).ContinueWith(t => { if (t.IsCompletedSuccessfully) t.Result.Dispose(); });
                Thread.Sleep(1000 / perSecond);
            }
        }) { IsBackground = true }.Start();
    }

    static void CallSlowServer(int perSecond, int delayMs)
    {
        int port = FreePort();
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        new Thread(() =>
        {
            while (true)
            {
                var context = listener.GetContext();
                Task.Delay(delayMs).ContinueWith(_ =>
                {
                    context.Response.StatusCode = 200;
                    context.Response.Close();
                });
            }
        }) { IsBackground = true }.Start();
        CallEvery(perSecond, $"http://127.0.0.1:{port}/slow");
    }

    static void Orders(int perSecond, int checkoutMs)
    {
        OrdersEventSource.Queued = perSecond;
        var meter = new Meter("Autodump.Orders");
        var failed = meter.CreateCounter<long>("orders.failed");
        var listener = new DiagnosticListener("Autodump.Orders");
        new Thread(() =>
        {
            for (int i = 0; ; i++)
            {
                failed.Add(1);
                if (listener.IsEnabled("OrderFailed"))
                    listener.Write("OrderFailed", new { OrderId = i, Reason = "declined" });
                var checkout = new Activity("Checkout");
                if (listener.IsEnabled("Checkout"))
                    listener.StartActivity(checkout, new { OrderId = i });
                Thread.Sleep(checkoutMs);
                if (listener.IsEnabled("Checkout"))
                    listener.StopActivity(checkout, new { OrderId = i });
                Thread.Sleep(Math.Max(0, 1000 / perSecond - checkoutMs));
            }
        }) { IsBackground = true }.Start();
    }

    static void Web(int perSecond)
    {
        int port = FreePort();
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapGet(app, "/fail",
            (Func<Microsoft.AspNetCore.Http.IResult>)(() => Microsoft.AspNetCore.Http.Results.StatusCode(500)));
        app.Urls.Add($"http://127.0.0.1:{port}");
        app.StartAsync().Wait();
        CallEvery(perSecond, $"http://127.0.0.1:{port}/fail");
    }

    static int Main(string[] args)
    {
        double after = 0;
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--after")
                after = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            else
                rest.Add(args[i]);
        }
        Console.WriteLine("ready " + Environment.ProcessId);
        Thread.Sleep(TimeSpan.FromSeconds(after));
        switch (rest.Count > 0 ? rest[0] : "idle")
        {
            case "alloc":
                Alloc(int.Parse(rest[1]), rest[2]);
                break;
            case "starve":
                for (int i = 0; i < int.Parse(rest[1]); i++)
                    ThreadPool.QueueUserWorkItem(BlockedWorker);
                break;
            case "http":
                CallSlowServer(int.Parse(rest[1]), int.Parse(rest[2]));
                break;
            case "http-refused":
                CallEvery(int.Parse(rest[1]), $"http://127.0.0.1:{FreePort()}/refused");
                break;
            case "orders":
                Orders(int.Parse(rest[1]), int.Parse(rest[2]));
                break;
            case "web":
                Web(int.Parse(rest[1]));
                break;
            case "crash":
                Alloc(1, rest[1]);
                Console.WriteLine("misbehaved " + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                Console.Out.Flush();
                System.Runtime.InteropServices.Marshal.ReadInt32(IntPtr.Zero);
                break;
            case "idle":
                break;
            default:
                Console.Error.WriteLine("unknown mode " + rest[0]);
                return 2;
        }
        // When, for the benchmark of how soon a rule's capture starts.
        Console.WriteLine("misbehaved " + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }
}
