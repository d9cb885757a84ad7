/// Whether ops record the graph. `withNoGrad` turns recording off for a scope (evaluation).
public enum GradMode {
    /// Whether ops record parents and backward closures in the current task (true unless inside
    /// `withNoGrad`).
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording the autograd graph.
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false, operation: body)
}

extension Tensor {
    /// The output of an op: records `parents` and `backward` when a parent requires a gradient
    /// and grad mode is on; otherwise a plain tensor.
    static func make(
        _ storage: Storage, shape: [Int], op: String, parents: [Tensor],
        backward: @escaping BackwardFunction
    ) -> Tensor {
        let record = GradMode.isEnabled && parents.contains { $0.requiresGrad }
        return Tensor(storage: storage, shape: shape, op: op, parents: record ? parents : [],
                      backward: record ? backward : nil)
    }

    /// An op defined outside the engine (a loss with a hand-written gradient, say): the output
    /// `storage` in `shape`, recorded with `parents` and `backward` when a parent requires a
    /// gradient and grad mode is on. `backward` maps the output's gradient (in the output's
    /// dtype) to one gradient per parent in that parent's dtype and element count, or nil.
    public static func operation(
        _ storage: Storage, shape: [Int], op: String, parents: [Tensor], backward: @escaping (Storage) -> [Storage?]
    ) -> Tensor {
        make(storage, shape: shape, op: op, parents: parents, backward: backward)
    }

    /// Reverse-mode differentiation from this tensor.
    ///
    /// Sorts the graph topologically, seeds this tensor's gradient with `gradient` (default 1 for
    /// a scalar), runs the backward closures in reverse order, sums the gradients that reach a
    /// node from several children (in the node's dtype), and adds the result into every leaf's
    /// `grad`. Intermediate gradients are not kept, so calling `backward()` on several losses
    /// that share a graph is correct, and repeated calls accumulate in the leaves.
    public func backward(gradient: Storage? = nil) {
        precondition(requiresGrad, "backward() on a tensor that does not require a gradient (op \(op))")
        let seed = gradient ?? {
            precondition(count == 1, "backward() without a gradient needs a one-element tensor; shape is \(shape)")
            return Storage([1], dtype: dtype)
        }()
        precondition(seed.count == count && seed.dtype == dtype,
                     "seed gradient \(seed.dtype)[\(seed.count)] does not match \(dtype) \(shape)")

        let order = topologicalOrder()
        pendingGrad = seed
        for node in order.reversed() {
            guard let g = node.pendingGrad else { continue }
            node.pendingGrad = nil
            guard let backward = node.backwardFunction else {
                node.accumulateGrad(g)
                continue
            }
            let grads = backward(g)
            for (parent, pg) in zip(node.parents, grads) where parent.requiresGrad {
                guard let pg else { continue }
                parent.pendingGrad = parent.pendingGrad.map { StorageMath.add($0, pg) } ?? pg
            }
        }
    }

    /// Parents before children, each node once (iterative depth-first search).
    func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (node, next) = stack.popLast() {
            if next < node.parents.count {
                stack.append((node, next + 1))
                let parent = node.parents[next]
                if parent.requiresGrad, visited.insert(ObjectIdentifier(parent)).inserted {
                    stack.append((parent, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }

    /// All tensors of the graph below this one, in topological order (for measurements).
    public var graphNodes: [Tensor] { topologicalOrder() }

    func accumulateGrad(_ g: Storage) {
        precondition(g.count == count, "gradient of \(g.count) elements for a tensor of shape \(shape)")
        let g = g.dtype == dtype ? g : g.converted(to: dtype)
        if let existing = grad {
            existing.storage = StorageMath.add(existing.storage, g)
        } else {
            grad = Tensor(storage: g, shape: shape)
        }
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }
}
