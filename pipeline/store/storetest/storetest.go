// Package storetest provides test helpers for code that trains models:
// a tiny valid backbone and synthetic class images.
package storetest

import (
	"encoding/binary"
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	"github.com/alphad/alphad/pipeline/tflite"
)

// TinyBackbone is a float32 feature extractor small enough to run in
// microseconds: input [1,size,size,3] → CONV_2D 1×1 (ch filters, RELU6) →
// MEAN over axes 1,2 (keep dims) → output [1,1,1,ch]. Weights are drawn
// from a fixed seed.
func TinyBackbone(size, ch int) *tflite.Model {
	r := rand.New(rand.NewPCG(7, 11))
	f32 := func(shape []int, n int) *tflite.Tensor {
		t := &tflite.Tensor{Type: tflite.Float32, Shape: shape}
		if n > 0 {
			t.Data = make([]byte, 4*n)
			for i := range n {
				binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(float32(r.NormFloat64())))
			}
		}
		return t
	}
	axes := &tflite.Tensor{Type: tflite.Int32, Shape: []int{2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}}
	m := &tflite.Model{
		Version:     3,
		Description: "alphad storetest.TinyBackbone",
		Tensors: []*tflite.Tensor{
			f32([]int{1, size, size, 3}, 0),
			f32([]int{ch, 1, 1, 3}, ch*3),
			f32([]int{ch}, ch),
			f32([]int{1, size, size, ch}, 0),
			axes,
			f32([]int{1, 1, 1, ch}, 0),
		},
		Operators: []*tflite.Operator{
			{Op: tflite.OpConv2D, Version: 1, Inputs: []int{0, 1, 2}, Outputs: []int{3},
				Options: &tflite.Conv2DOptions{Padding: tflite.PaddingSame, StrideW: 1, StrideH: 1, DilationW: 1, DilationH: 1, Activation: tflite.ActRelu6}},
			{Op: tflite.OpMean, Version: 1, Inputs: []int{3, 4}, Outputs: []int{5}, Options: &tflite.ReducerOptions{KeepDims: true}},
		},
		Inputs:  []int{0},
		Outputs: []int{5},
	}
	for i, t := range m.Tensors {
		t.Index = i
		t.Name = []string{"input", "conv/w", "conv/b", "conv/out", "mean/axes", "features"}[i]
	}
	for i, op := range m.Operators {
		op.Index = i
	}
	return m
}

// ClassImage draws a size×size image for class c (a distinct dominant
// colour) with noise from seed, so different seeds give different images.
func ClassImage(c, size int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, uint64(c)))
	base := [][3]int{{220, 40, 40}, {40, 200, 60}, {50, 60, 230}, {230, 220, 40}, {200, 50, 210}}[c%5]
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			px := [3]uint8{}
			for k := range 3 {
				px[k] = uint8(min(255, max(0, base[k]+r.IntN(61)-30)))
			}
			img.Set(x, y, color.RGBA{px[0], px[1], px[2], 255})
		}
	}
	return img
}
