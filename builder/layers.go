package builder

import (
	G "gorgonia.org/gorgonia"
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
// order of its spec.ResolvedLayer.Weights.
func (lb *LayerBuild) Param() *G.Node {
	t := lb.w.Tensors[lb.next]
	n := G.NodeFromAny(lb.g, t, G.WithName(lb.w.Names[lb.next]))
	lb.gr.Params = append(lb.gr.Params, n)
	lb.next++
	return n
}

// AddDropout records a dropout mask node of the training graph and its rate (Graph.Dropouts).
func (lb *LayerBuild) AddDropout(mask *G.Node, rate float64) {
	lb.gr.Dropouts = append(lb.gr.Dropouts, mask)
	lb.gr.DropoutRates = append(lb.gr.DropoutRates, rate)
}
