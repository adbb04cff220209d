module example.com/sbomsign/demo

go 1.19

require (
	example.com/Acme/Widgets v0.4.1
	example.com/lib/codec/v2 v2.3.0
	example.com/lib/local v0.1.0
	example.com/lib/old v1.0.0
	example.com/lib/strutil v1.2.0
)

replace example.com/lib/old => example.com/lib/fork v1.1.0

replace example.com/lib/local => ./third_party/localmod
