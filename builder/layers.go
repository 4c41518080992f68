package builder

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LayerBuild is what an engine (Ops) adding a layer to a graph under construction may use: the
// layer's weights, the graph, and whether it trains.
type LayerBuild struct {
	g     *G.ExprGraph
	gr    *Graph
	w     *Weights
	train bool
	next  int // the next weight tensor to bind
}

// Graph returns the graph under construction.
func (lb *LayerBuild) Graph() *G.ExprGraph { return lb.g }

// Training reports whether the graph is a training graph (with labels, loss and dropout).
func (lb *LayerBuild) Training() bool { return lb.train }

// Param binds the next weight tensor as a node of the graph: a layer takes its weights in the
// order of its spec.ResolvedLayer.Weights. A trainable tensor becomes one of Graph.Params (and
// has a gradient in a training graph); a non-trainable one (a batch_norm's moving statistics) is
// only bound, its node's value being the tensor itself, which the layer may update in place.
func (lb *LayerBuild) Param() *G.Node {
	t := lb.w.Tensors[lb.next]
	n := G.NodeFromAny(lb.g, t, G.WithName(lb.w.Names[lb.next]))
	if lb.w.Trainable(lb.next) {
		lb.gr.Params = append(lb.gr.Params, n)
	}
	lb.next++
	return n
}

// Tensor returns the weight tensor that the node n of Param binds (for a layer that updates a
// non-trainable tensor in place).
func (lb *LayerBuild) Tensor(n *G.Node) *tensor.Dense {
	for i, name := range lb.w.Names {
		if name == n.Name() {
			return lb.w.Tensors[i]
		}
	}
	return nil
}

// Count returns the training graph's scalar node of the number of real rows in the batch
// (Graph.Count), made here if no layer asked for it before; nil on an evaluation graph. The real
// rows come first: rows from Count on are padding.
func (lb *LayerBuild) Count() *G.Node {
	if !lb.train {
		return nil
	}
	if lb.gr.Count == nil {
		lb.gr.Count = G.NewScalar(lb.g, tensor.Float32, G.WithName("count"), G.WithValue(float32(lb.gr.Batch)))
	}
	return lb.gr.Count
}

// AddDropout records a dropout mask node of the training graph and its rate (Graph.Dropouts).
func (lb *LayerBuild) AddDropout(mask *G.Node, rate float64) {
	lb.gr.Dropouts = append(lb.gr.Dropouts, mask)
	lb.gr.DropoutRates = append(lb.gr.DropoutRates, rate)
}
