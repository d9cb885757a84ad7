import Foundation
import HalfTraceKernels

extension TorchScheduler {
    /// PyTorch's schedulers as objects over one optimizer's `param_groups`, stepping as
    /// torch/optim/lr_scheduler.py (torch 2.13) does: each scheduler reads and writes the groups'
    /// `lr` (the chainable form), keeps `last_epoch` and `_step_count`, and is built in Python's
    /// order (a list's schedulers before the SequentialLR or ChainedScheduler that holds them).
    final class Simulation {
        struct Group {
            var lr: Double
            var initialLR: Double?
            var momentum: Double
            var weightDecay = 0.0
        }

        var groups: [Group]
        /// Megatron's `step(increment)`.
        let increment: Int

        init(lrs: [Double], momentum: Double, increment: Int = 1) {
            groups = lrs.map { Group(lr: $0, initialLR: nil, momentum: momentum) }
            self.increment = increment
        }

        func build(_ spec: Spec) throws -> Object {
            switch spec {
            case let .sequential(inner, milestones):
                let children = try inner.map(build)
                return try Sequential(self, children, milestones)
            case let .chained(inner):
                return Chained(try inner.map(build))
            default:
                return try Leaf(self, spec)
            }
        }

        /// A scheduler object.
        class Object {
            /// `step()` with no argument.
            func step() throws {}
            /// `_initial_step()`.
            func initialStep() throws {}
            /// `recursive_undo`'s effect.
            func undo() {}
        }

        /// Python's `a % b` for b > 0 (never negative).
        static func pythonMod(_ a: Int, _ b: Int) -> Int { ((a % b) + b) % b }

        final class Leaf: Object {
            unowned let sim: Simulation
            let spec: Spec
            var lastEpoch = -1
            var stepCount = 0
            var isInitial = false
            var baseLRs: [Double] = []
            // CosineAnnealingWarmRestarts' own state.
            var tCur = -1, tI = 0
            // DeepSpeed: the groups' lr when the schedule was built.
            var groupLRsAtConstruction: [Double] = []

            init(_ sim: Simulation, _ spec: Spec) throws {
                self.sim = sim
                self.spec = spec
                super.init()
                if case .megatron = spec {
                    // The constructor's step(0).
                    lastEpoch = 0
                    setMegatron()
                    return
                }
                if spec.isStateless {
                    // timm's and transformers' schedules: the lr a function of the step count, from the groups' lr at construction.
                    groupLRsAtConstruction = sim.groups.map(\.lr)
                    lastEpoch = 0
                    setStateless()
                    return
                }
                if case .deepSpeed = spec {
                    // DeepSpeed's schedules set the lr (and betas) at last_batch_iteration = -1 and do not step.
                    groupLRsAtConstruction = sim.groups.map(\.lr)
                    setDeepSpeed()
                    return
                }
                var cyclicBase: [Double]?
                switch spec {
                case .oneCycle(let o):
                    for j in sim.groups.indices {
                        // initial_lr overwritten (max_lr, min_lr and the momenta live in the spec).
                        sim.groups[j].initialLR = o.maxLRs[j] / o.divFactor
                        if o.cycleMomentum { sim.groups[j].momentum = o.maxMomentums[j] }
                    }
                case .cyclic(let c):
                    for j in sim.groups.indices {
                        sim.groups[j].lr = c.baseLRs[j]
                        if c.cycleMomentum { sim.groups[j].momentum = c.maxMomentums[j] }
                    }
                    cyclicBase = c.baseLRs
                case .warmRestarts(let t0, _, _):
                    tI = t0
                default: break
                }
                // LRScheduler.__init__: initial_lr set once, base_lrs from it, then the initial step.
                for j in sim.groups.indices where sim.groups[j].initialLR == nil { sim.groups[j].initialLR = sim.groups[j].lr }
                baseLRs = sim.groups.map { $0.initialLR! }
                try initialStep()
                if let cyclicBase { baseLRs = cyclicBase }
            }

            override func initialStep() throws {
                stepCount = 0
                isInitial = true
                defer { isInitial = false }
                try step()
            }

            override func undo() { lastEpoch -= 1 }

            func setDeepSpeed() {
                guard case .deepSpeed(let d) = spec else { return }
                let v = d.value(it: lastEpoch, groupLRs: groupLRsAtConstruction, exact: false)
                set(v.lr)
                if let m = v.momentum { for j in sim.groups.indices { sim.groups[j].momentum = m[j] } }
            }

            func setStateless() {
                switch spec {
                case .timm(let t): set(t.lrs(lastEpoch, base: groupLRsAtConstruction, exact: false))
                case .transformers(let t): set(t.lrs(lastEpoch, base: groupLRsAtConstruction, exact: false))
                default: break
                }
            }

            func setMegatron() {
                guard case .megatron(let m) = spec else { return }
                let n = Double(lastEpoch)
                for j in sim.groups.indices {
                    sim.groups[j].lr = m.lr(n)
                    sim.groups[j].weightDecay = m.weightDecay(n)
                }
            }

            override func step() throws {
                if case .megatron = spec {
                    lastEpoch += sim.increment
                    setMegatron()
                    return
                }
                if case .deepSpeed = spec {
                    lastEpoch += 1
                    setDeepSpeed()
                    return
                }
                if spec.isStateless {
                    lastEpoch += 1
                    setStateless()
                    return
                }
                if case let .warmRestarts(t0, tMult, _) = spec {
                    // CosineAnnealingWarmRestarts.step overrides the base class's.
                    if lastEpoch < 0 {
                        tI = t0
                        tCur = 0
                        lastEpoch = 0
                    } else {
                        lastEpoch += 1
                        tCur += 1
                        if tCur >= tI {
                            tCur = tCur % tI
                            tI *= tMult
                        }
                    }
                    set(try lrs())
                    return
                }
                stepCount += 1
                lastEpoch += 1
                set(try lrs())
            }

            /// `_update_lr(epoch)`: last_epoch = epoch, then the closed form where the class has one.
            func updateLR(epoch: Int) throws {
                lastEpoch = epoch
                if let closed = try closedForm() { set(closed) } else { set(try lrs()) }
            }

            func set(_ values: [Double]) {
                for j in sim.groups.indices { sim.groups[j].lr = values[j] }
            }

            var current: [Double] { sim.groups.map(\.lr) }

            func closedForm() throws -> [Double]? {
                let e = lastEpoch
                switch spec {
                case .linear(_, _, 0), .polynomial(0, _):
                    throw HalfTraceError.invalid("scheduler", "\(spec.isLinear ? "LinearLR" : "PolynomialLR")(total_iters=0) stepped to epoch \(e): PyTorch's closed form divides by total_iters (ZeroDivisionError)")
                case let .stepLR(s, g): return baseLRs.map { $0 * pow(g, Double(Self.floorDiv(e, s))) }
                case let .multiStep(m, g):
                    let passed = m.sorted().filter { $0 <= e }.count
                    return baseLRs.map { $0 * pow(g, Double(passed)) }
                case let .constant(f, t): return baseLRs.map { $0 * (f + (e >= t ? 1 : 0) * (1 - f)) }
                case let .linear(s, end, t): return baseLRs.map { $0 * (s + (end - s) * Double(min(t, e)) / Double(t)) }
                case let .exponential(g): return baseLRs.map { $0 * pow(g, Double(e)) }
                case let .polynomial(t, p): return baseLRs.map { $0 * pow(1.0 - Double(min(t, e)) / Double(t), p) }
                case let .cosine(tMax, eta): return baseLRs.map { CosineWarmRestarts.annealed(base: $0, etaMin: eta, tCur: Double(e), tI: Double(tMax)) }
                default: return nil
                }
            }

            /// Python's `a // b` for b > 0.
            static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

            /// The class's `get_lr` (and, for the cycling ones, the momentum it sets).
            func lrs() throws -> [Double] {
                let e = lastEpoch
                switch spec {
                case let .stepLR(s, g):
                    if e == 0 || Simulation.pythonMod(e, s) != 0 { return current }
                    return current.map { $0 * g }
                case let .multiStep(m, g):
                    let count = m.filter { $0 == e }.count
                    if count == 0 { return current }
                    return current.map { $0 * pow(g, Double(count)) }
                case let .constant(f, t):
                    if e == 0 { return current.map { $0 * f } }
                    if e != t { return current }
                    guard f != 0 else { throw HalfTraceError.invalid("scheduler", "ConstantLR(factor=0): PyTorch raises ZeroDivisionError (1.0 / factor) at step \(e)") }
                    return current.map { $0 * (1.0 / f) }
                case let .linear(s, end, t):
                    if e == 0 { return current.map { $0 * s } }
                    if isInitial || e > t { return current }
                    let denominator = Double(t) * s + Double(e - 1) * (end - s)
                    guard denominator != 0 else { throw HalfTraceError.invalid("scheduler", "LinearLR: PyTorch divides by zero at step \(e)") }
                    return current.map { $0 * (1.0 + (end - s) / denominator) }
                case let .exponential(g):
                    if isInitial { return current }
                    return current.map { $0 * g }
                case let .polynomial(t, p):
                    if isInitial || e > t { return current }
                    let decay = pow((1.0 - Double(e) / Double(t)) / (1.0 - Double(e - 1) / Double(t)), p)
                    return current.map { $0 * decay }
                case let .cosine(tMax, eta):
                    let T = Double(tMax), le = Double(e)
                    if isInitial { return current }
                    if stepCount == 1 && e > 0 {
                        return baseLRs.map { CosineWarmRestarts.annealed(base: $0, etaMin: eta, tCur: le, tI: T) }
                    }
                    if Simulation.pythonMod(e - 1 - tMax, 2 * tMax) == 0 {
                        return zip(baseLRs, current).map { base, lr in lr + (base - eta) * (1 - cos(Double.pi / T)) / 2 }
                    }
                    return current.map { lr in (1 + cos(Double.pi * le / T)) / (1 + cos(Double.pi * (le - 1) / T)) * (lr - eta) + eta }
                case let .warmRestarts(_, _, eta):
                    return baseLRs.map { CosineWarmRestarts.annealed(base: $0, etaMin: eta, tCur: Double(tCur), tI: Double(tI)) }
                case .oneCycle(let o):
                    guard e <= o.totalSteps else {
                        throw HalfTraceError.invalid("scheduler", "OneCycleLR: PyTorch raises ValueError: Tried to step \(e) times. The specified number of total steps is \(o.totalSteps)")
                    }
                    return try oneCycle(o, e)
                case .cyclic(let c):
                    return cyclic(c, e)
                case .sequential, .chained, .deepSpeed, .megatron, .timm, .transformers:
                    return current
                }
            }

            /// OneCycleLR's `get_lr`: its phases from the groups' initial_lr, max_lr and min_lr, which
            /// its constructor set from max_lr, div_factor and final_div_factor (nothing else writes
            /// them), so the spec's own arithmetic with float phase ends.
            func oneCycle(_ o: Spec.OneCycle, _ e: Int) throws -> [Double] {
                sim.groups.indices.map { j in
                    let v = o.value(e, group: j, exact: false)
                    if o.cycleMomentum { sim.groups[j].momentum = v.momentum }
                    return v.lr
                }
            }

            func cyclic(_ c: Spec.Cyclic, _ e: Int) -> [Double] {
                var out: [Double] = []
                for j in sim.groups.indices {
                    var v = c.value(e, group: j, exact: false)
                    // get_lr uses self.base_lrs: the groups' initial_lr during the initial step.
                    if baseLRs[j] != c.baseLRs[j] {
                        let spec = Spec.Cyclic(baseLRs: baseLRs, maxLRs: c.maxLRs, stepSizeUp: c.stepSizeUp, stepSizeDown: c.stepSizeDown, mode: c.mode,
                                               gamma: c.gamma, cycleMomentum: c.cycleMomentum, baseMomentums: c.baseMomentums, maxMomentums: c.maxMomentums)
                        v = spec.value(e, group: j, exact: false)
                    }
                    out.append(v.lr)
                    if c.cycleMomentum { sim.groups[j].momentum = v.momentum }
                }
                return out
            }
        }

        final class Sequential: Object {
            unowned let sim: Simulation
            let children: [Object]
            let milestones: [Int]
            var lastEpoch = 0

            init(_ sim: Simulation, _ children: [Object], _ milestones: [Int]) throws {
                self.sim = sim
                self.children = children
                self.milestones = milestones
                super.init()
                for j in sim.groups.indices { sim.groups[j].lr = sim.groups[j].initialLR ?? sim.groups[j].lr }
                for c in children { c.undo() }
                try children[Self.bisectRight(milestones, 0)].initialStep()
            }

            static func bisectRight(_ a: [Int], _ x: Int) -> Int {
                var lo = 0, hi = a.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if x < a[mid] { hi = mid } else { lo = mid + 1 }
                }
                return lo
            }

            override func undo() { for c in children { c.undo() } }

            override func initialStep() throws { try step() }

            override func step() throws {
                lastEpoch += 1
                let idx = Self.bisectRight(milestones, lastEpoch)
                let s = children[idx]
                if idx > 0 && milestones[idx - 1] == lastEpoch {
                    guard let leaf = s as? Leaf else {
                        throw HalfTraceError.invalid("scheduler", "SequentialLR: a nested SequentialLR or ChainedScheduler at a milestone: PyTorch raises NotImplementedError (it has no get_lr) at step \(lastEpoch)")
                    }
                    try leaf.updateLR(epoch: 0)
                } else {
                    try s.step()
                }
            }
        }

        final class Chained: Object {
            let children: [Object]
            init(_ children: [Object]) { self.children = children }
            override func undo() { for c in children { c.undo() } }
            override func step() throws { for c in children { try c.step() } }
            override func initialStep() throws { try step() }
        }
    }
}
