package native

import (
	"errors"
	"fmt"
	"time"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/native/qmath"
	"github.com/alphad/alphad/pipeline/tflite"
)

// Engine runs one model with the pure-Go kernels. Build it with New.
type Engine struct {
	runs    []runFunc
	opJobs  [][]*job // the pool jobs each op's run uses (for the op profile)
	inputs  [][]byte
	outputs [][]byte
	pool    *pool
	pick    threadPicker // all threads or the caller alone, Invoke by Invoke
	arena   []byte       // every activation tensor's storage
	closed  bool

	// fusedInto is, per op, the op whose run also runs it (a fused
	// block's first op, see fused.go), or the op itself.
	fusedInto []int
	// chained is, per op, whether it runs inside the job of the op
	// before it (see chain.go).
	chained []bool
}

var _ engine.Engine = (*Engine)(nil)

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("native: engine closed")

// New plans m (arena layout, packed weights, one run function per
// operator) and starts opts.Threads-1 worker goroutines, stopped by Close.
// An operator or type combination it cannot run is reported as a
// *tflite.UnsupportedOpError.
func New(m *tflite.Model, opts engine.Options) (*Engine, error) {
	return build(m, opts, buildOptions{kern: gemmKernels()[0]})
}

// buildOptions are the choices New makes itself and tests vary.
type buildOptions struct {
	kern     gemmKernel // the GEMM micro-kernel
	qdot     qmath.Dot  // the integer dot-product kernel (zero: the fastest)
	separate bool       // no arena reuse (see layout)
	packed   bool       // the one-thread arena layout whatever the threads
	noFuse   bool       // run every op on its own (see fusePlan)
	noChain  bool       // no op runs inside the job of the op before it (see chain.go)
	fuse     fuseLimits // fusePlan's sizes (zero: the defaults)
}

// build is New with chosen internals.
func build(m *tflite.Model, opts engine.Options, bo buildOptions) (*Engine, error) {
	if m == nil {
		return nil, errors.New("native: nil model")
	}
	p := &plan{model: m, pool: newPool(opts.Threads), kern: bo.kern, qdot: bo.qdot}
	var fz *fusion
	if !bo.noFuse {
		fz = fusePlan(p, bo.fuse, !bo.noChain)
		p.fz = fz
	}
	layoutThreads := opts.Threads
	if bo.packed {
		layoutThreads = 1
	}
	views, arena := layout(m, bo.separate, layoutThreads, fz)
	p.views = views
	e := &Engine{pool: p.pool, arena: arena}
	nj := 0
	for i, op := range m.Operators {
		e.fusedInto = append(e.fusedInto, i)
		e.chained = append(e.chained, false)
		if fz != nil && fz.head[i] != i {
			// Run by its block's first op.
			e.fusedInto[i] = fz.head[i]
			e.runs = append(e.runs, func() {})
			e.opJobs = append(e.opJobs, nil)
			continue
		}
		if fz != nil && fz.blocks[i] != nil {
			e.runs = append(e.runs, fz.prepare(p, i))
			e.opJobs = append(e.opJobs, p.pool.jobs[nj:len(p.pool.jobs):len(p.pool.jobs)])
			nj = len(p.pool.jobs)
			continue
		}
		prep, ok := kernels[op.Op]
		if !ok {
			p.pool.close()
			return nil, fmt.Errorf("native: %w", p.unsupported(op, "no kernel"))
		}
		p.at, p.chained = i, false
		run, err := prep(p, op)
		if err != nil {
			p.pool.close()
			return nil, fmt.Errorf("native: %w", err)
		}
		e.chained[i] = p.chained
		e.runs = append(e.runs, run)
		e.opJobs = append(e.opJobs, p.pool.jobs[nj:len(p.pool.jobs):len(p.pool.jobs)])
		nj = len(p.pool.jobs)
	}
	for _, t := range m.Inputs {
		e.inputs = append(e.inputs, p.bytes(t))
	}
	for _, t := range m.Outputs {
		b := p.bytes(t)
		if m.Tensors[t].IsConst() {
			c := alignedBytes(len(b))
			copy(c, b)
			b = c
		}
		e.outputs = append(e.outputs, b)
	}
	return e, nil
}

// Name is "native".
func (e *Engine) Name() string { return "native" }

// Input is the storage of model input i (64-byte aligned).
func (e *Engine) Input(i int) []byte { return e.inputs[i] }

// Output is the storage of model output i (64-byte aligned), valid after
// Invoke until the next Invoke or Close.
func (e *Engine) Output(i int) []byte { return e.outputs[i] }

// Invoke runs the model once; it allocates nothing.
func (e *Engine) Invoke() error {
	if e.closed {
		return ErrClosed
	}
	if len(e.pool.workers) == 0 {
		for _, run := range e.runs {
			run()
		}
		return nil
	}
	t0 := time.Now()
	for _, run := range e.runs {
		run()
	}
	e.pool.solo = e.pick.record(time.Since(t0))
	return nil
}

// Prewake tells the engine an Invoke is coming soon — a frame has arrived
// and its input is being prepared: parked worker goroutines wake now, so
// that the first op does not wait for them. Without workers (one thread)
// it does nothing. Like Invoke, it must not run concurrently with Close.
func (e *Engine) Prewake() {
	if !e.closed {
		e.pool.prewake()
	}
}

// Close stops the worker goroutines. It is safe to call twice.
func (e *Engine) Close() error {
	if !e.closed {
		e.closed = true
		e.pool.close()
	}
	return nil
}

// ArenaBytes is the size of the activation arena the plan laid out.
func (e *Engine) ArenaBytes() int { return len(e.arena) }
