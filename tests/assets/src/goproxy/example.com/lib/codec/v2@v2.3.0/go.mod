module example.com/lib/codec/v2

go 1.19
