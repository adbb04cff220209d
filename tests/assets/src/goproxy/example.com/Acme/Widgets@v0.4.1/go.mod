module example.com/Acme/Widgets

go 1.19

require example.com/lib/strutil v1.1.0
