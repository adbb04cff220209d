module example.com/lib/old

go 1.19
