import Foundation
import Testing
@testable import KeelKit

@Suite("keel bench linux: the wall-time figures")
struct LinuxWallBenchTests {
    static func figures(smp: Int, native: [(Double, Double)], keel: [(Double, Double)]) -> LinuxWallBench.Figures {
        LinuxWallBench.Figures(config: LinuxBench.Config(smp: smp, gic: 3),
                               native: native.map { LinuxWallBench.Run(uptime: $0.0, wall: $0.1) },
                               keel: keel.map { LinuxWallBench.Run(uptime: $0.0, wall: $0.1) })
    }

    @Test("the median of odd and even counts, nan for none")
    func median() {
        #expect(LinuxWallBench.median([3, 1, 2]) == 2)
        #expect(LinuxWallBench.median([4, 1, 3, 2]) == 2.5)
        #expect(LinuxWallBench.median([]).isNaN)
    }

    @Test("each side's median, the ratios on both clocks, the goal on guest uptime")
    func ratios() {
        let f = Self.figures(smp: 4, native: [(1.0, 1.5), (1.2, 1.6), (5.0, 9.0)], keel: [(1.1, 2.0), (1.3, 2.4), (1.15, 2.2)])
        #expect(f.nativeUptime == 1.2 && f.keelUptime == 1.15)
        #expect(f.nativeWall == 1.6 && f.keelWall == 2.2)
        #expect(abs(f.uptimeRatio - 1.15 / 1.2) < 1e-12)
        #expect(abs(f.wallRatio - 2.2 / 1.6) < 1e-12)
        #expect(f.meetsGoal)
        #expect(!Self.figures(smp: 1, native: [(1.0, 1.0)], keel: [(1.21, 1.0)]).meetsGoal)
    }

    @Test("the table row and the goal line")
    func formatting() {
        let good = Self.figures(smp: 2, native: [(1.0, 1.5)], keel: [(1.1, 2.25)])
        #expect(good.row == ["smp2-gicv3", "1.00", "1.10", "1.10", "1.50", "2.25", "1.50"])
        #expect(LinuxWallBench.header.count == good.row.count)
        #expect(LinuxWallBench.summary([good]) == "goal Keel / native <= 1.20 in guest uptime, no -icount: met (worst 1.10)")
        let bad = Self.figures(smp: 4, native: [(1.0, 1.0)], keel: [(2.5, 3.0)])
        #expect(LinuxWallBench.summary([good, bad]) == "goal Keel / native <= 1.20 in guest uptime, no -icount: NOT met (worst 2.50)")
    }

    @Test("the JSON section: every run kept, figures per configuration")
    func json() throws {
        let f = Self.figures(smp: 1, native: [(1.0, 1.5), (1.2, 1.7)], keel: [(1.1, 2.0), (1.3, 2.2)])
        let section = LinuxWallBench.jsonSection([f])
        #expect(section["goal_met"] as? Bool == true)
        let config = try #require((section["configs"] as? [String: Any])?["smp1-gicv3"] as? [String: Any])
        #expect(config["native_uptime_s"] as? Double == 1.1)
        #expect(config["keel_runs_wall_s"] as? [Double] == [2.0, 2.2])
        #expect(config["runs"] as? Int == 2)
        #expect(JSONSerialization.isValidJSONObject(section))
    }

    @Test("without -icount both command lines lose the icount and keep the rest")
    func noIcount() {
        let config = LinuxBench.Config(smp: 2, gic: 3)
        let with = LinuxBench.nativeArguments(config, dtb: "t.dtb", kernel: "Image", initrd: "i.cpio")
        let without = LinuxBench.nativeArguments(config, dtb: "t.dtb", kernel: "Image", initrd: "i.cpio", icount: false)
        #expect(with.contains("-icount") && !without.contains("-icount"))
        #expect(without.filter { !LinuxBench.determinism.contains($0) } == with.filter { !LinuxBench.determinism.contains($0) })
    }
}
